import fs from 'node:fs';
import type {InstancePaths} from './paths.js';

export type PidInfo = {
	/** The worker (the process serving HTTP and sending mail); null while it is being (re)started. */
	pid: number | null;
	supervisorPid: number;
	host: string;
	port: number;
	startedAt: string;
	version: string;
	restarts: number;
};

export function readPidfile(paths: InstancePaths): PidInfo | undefined {
	try {
		const parsed = JSON.parse(fs.readFileSync(paths.pidfile, 'utf8')) as Partial<PidInfo>;
		if (typeof parsed.supervisorPid !== 'number') {
			return undefined;
		}

		return {
			pid: typeof parsed.pid === 'number' ? parsed.pid : null,
			supervisorPid: parsed.supervisorPid,
			host: String(parsed.host ?? '127.0.0.1'),
			port: Number(parsed.port ?? 0),
			startedAt: String(parsed.startedAt ?? ''),
			version: String(parsed.version ?? ''),
			restarts: Number(parsed.restarts ?? 0),
		};
	} catch {
		return undefined;
	}
}

/** Written atomically (temp file + rename) so a reader never sees half a pidfile. */
export function writePidfile(paths: InstancePaths, info: PidInfo): void {
	const temporary = `${paths.pidfile}.${process.pid}.tmp`;
	fs.writeFileSync(temporary, JSON.stringify(info) + '\n', {mode: 0o600});
	fs.renameSync(temporary, paths.pidfile);
}

export function removePidfile(paths: InstancePaths, onlyIfSupervisor?: number): void {
	if (onlyIfSupervisor !== undefined && readPidfile(paths)?.supervisorPid !== onlyIfSupervisor) {
		return;
	}

	fs.rmSync(paths.pidfile, {force: true});
}

export function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

export type Role = 'supervisor' | 'worker';

/**
 * True when `pid` is alive and is our supervisor/worker for this instance: the pid of a dead daemon may
 * since belong to another program, which must never be signalled.
 */
export function isOurProcess(pid: number | null | undefined, role: Role, paths: InstancePaths): boolean {
	if (!pid || !isAlive(pid)) {
		return false;
	}

	let cmdline: string;
	try {
		cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
	} catch {
		// No procfs (not Linux): liveness is all we can know.
		return process.platform !== 'linux';
	}

	const args = cmdline.split('\0');
	return args.some(arg => arg.endsWith(`/daemon/${role}.js`)) && args.includes(paths.name) && args.includes(paths.home);
}

export type InstanceState = 'running' | 'stopped' | 'stale';

export function instanceState(paths: InstancePaths): {state: InstanceState; info?: PidInfo} {
	const info = readPidfile(paths);
	if (!info) {
		return {state: fs.existsSync(paths.pidfile) ? 'stale' : 'stopped'};
	}

	return {state: isOurProcess(info.supervisorPid, 'supervisor', paths) ? 'running' : 'stale', info};
}
