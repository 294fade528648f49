import fs from 'node:fs';
import {setTimeout as sleep} from 'node:timers/promises';
import {execa} from 'execa';
import lockfile from 'proper-lockfile';
import {failure} from '../shared/errors.js';
import type {InstancePaths} from '../shared/paths.js';
import {instanceState, isAlive, isOurProcess, readPidfile, removePidfile, type PidInfo} from '../shared/pidfile.js';
import {urlOf, type StartOptions, type SupervisorReport} from '../daemon/protocol.js';

const supervisorScript = new URL('../daemon/supervisor.js', import.meta.url);
export const START_TIMEOUT_MS = 10_000;

export async function isHealthy(url: string, timeoutMs = 1000): Promise<boolean> {
	try {
		const response = await fetch(`${url}/health`, {signal: AbortSignal.timeout(timeoutMs)});
		return response.ok;
	} catch {
		return false;
	}
}

/** The last lines of the daemon log that explain a failure (errors first), for one-line messages. */
export function lastLogError(paths: InstancePaths): string | undefined {
	try {
		const lines = fs.readFileSync(paths.log, 'utf8').trimEnd().split('\n').slice(-40);
		const error = lines.reverse().find(line => / ERROR /.test(line));
		return error?.replace(/^\S+ ERROR\s+\S+: /, '');
	} catch {
		return undefined;
	}
}

async function waitForHealthy(paths: InstancePaths, deadline: number): Promise<PidInfo> {
	while (Date.now() < deadline) {
		const info = readPidfile(paths);
		if (info && info.port > 0 && info.pid && (await isHealthy(urlOf(info.host, info.port), 500))) {
			return info;
		}

		if (info && !isOurProcess(info.supervisorPid, 'supervisor', paths)) {
			break;
		}

		await sleep(50);
	}

	throw failure(`instance '${paths.name}' did not become healthy within ${START_TIMEOUT_MS / 1000} s${describeLog(paths)}`);
}

function describeLog(paths: InstancePaths): string {
	const reason = lastLogError(paths);
	return reason ? `: ${reason}` : ` (see ${paths.log})`;
}

export type StartResult = {alreadyRunning: boolean; info: PidInfo; url: string};

/**
 * Spawns the detached supervisor and returns once `/health` answers. The supervisor reports over IPC
 * (started, already running, or why it failed); its stdio goes to the instance log.
 */
export async function startDetached(paths: InstancePaths, options: StartOptions): Promise<StartResult> {
	const deadline = Date.now() + START_TIMEOUT_MS;
	fs.mkdirSync(paths.logs, {recursive: true, mode: 0o700});
	// execa's types list only small literal descriptors; any open fd works at run time.
	const logFd = fs.openSync(paths.log, 'a', 0o600) as 3;
	const {execa} = await import('execa');
	const child = execa(process.execPath, ['--max-semi-space-size=1', supervisorScript.pathname, paths.name, paths.home], {
		detached: true,
		ipc: true,
		stdio: ['ignore', logFd, logFd],
		cleanup: false,
		reject: false,
		env: {MAIL_PROXY_START_OPTIONS: JSON.stringify(options)},
	});
	fs.closeSync(logFd);
	const exited = child.then(result => ({type: 'exited', code: result.exitCode}) as const);
	const timeout = sleep(START_TIMEOUT_MS, {type: 'timeout'} as const, {ref: false});
	const first = await Promise.race([child.getOneMessage() as Promise<SupervisorReport>, exited, timeout]).catch(
		() => ({type: 'exited', code: undefined}) as const,
	);
	if (child.connected) {
		child.disconnect();
	}

	child.unref();
	switch (first.type) {
		case 'started': {
			const info = await waitForHealthy(paths, deadline);
			return {alreadyRunning: false, info, url: urlOf(info.host, info.port)};
		}

		case 'running': {
			const info = await waitForHealthy(paths, deadline);
			return {alreadyRunning: true, info, url: urlOf(info.host, info.port)};
		}

		case 'failed': {
			throw failure(`instance '${paths.name}' failed to start: ${first.message}`);
		}

		case 'timeout': {
			if (child.pid) {
				killGroup(child.pid, 'SIGKILL');
			}

			throw failure(`instance '${paths.name}' did not start within ${START_TIMEOUT_MS / 1000} s${describeLog(paths)}`);
		}

		default: {
			throw failure(`instance '${paths.name}' failed to start${describeLog(paths)}`);
		}
	}
}

/** `--foreground`: the same supervisor, attached to this terminal; returns its exit code. */
export async function runForeground(paths: InstancePaths, options: StartOptions): Promise<number> {
	fs.mkdirSync(paths.logs, {recursive: true, mode: 0o700});
	const {execa} = await import('execa');
	const child = execa(process.execPath, ['--max-semi-space-size=1', supervisorScript.pathname, paths.name, paths.home], {
		stdio: 'inherit',
		ipc: true,
		reject: false,
		cleanup: true,
		env: {MAIL_PROXY_START_OPTIONS: JSON.stringify({...options, foreground: true})},
	});
	// Ctrl-C reaches the whole process group: the supervisor drains and exits; this process just waits.
	const ignore = () => {};
	process.on('SIGINT', ignore);
	const forward = () => child.kill('SIGTERM');
	process.on('SIGTERM', forward);
	child.getOneMessage().then(
		(message: unknown) => {
			const report = message as SupervisorReport;
			if (report.type === 'running') {
				process.stderr.write(`instance '${paths.name}' is already running\n`);
			} else if (report.type === 'failed') {
				process.stderr.write(`instance '${paths.name}' failed to start: ${report.message}\n`);
			}
		},
		() => {},
	);
	const result = await child;
	process.off('SIGINT', ignore);
	process.off('SIGTERM', forward);
	return result.exitCode ?? 1;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pid, signal);
	} catch {
		try {
			process.kill(pid, signal);
		} catch {}
	}
}

export type StopResult = 'stopped' | 'killed' | 'was-not-running' | 'not-running';

/**
 * SIGTERM to the supervisor, which drains and exits; waits for it (and the lock) to go. `force` or
 * the timeout → SIGKILL. A stale pidfile (dead pid, or a pid now used by another program) is removed.
 */
export async function stopInstance(paths: InstancePaths, options: {force?: boolean; timeoutMs?: number} = {}): Promise<StopResult> {
	const {state, info} = instanceState(paths);
	if (state === 'stopped') {
		return 'not-running';
	}

	if (state === 'stale' || !info) {
		// The supervisor is gone; a worker it left (it exits by itself when it notices) must not linger.
		if (info?.pid && isOurProcess(info.pid, 'worker', paths)) {
			process.kill(info.pid, 'SIGTERM');
		}

		removePidfile(paths);
		return 'was-not-running';
	}

	const {supervisorPid, pid} = info;
	if (options.force) {
		killBoth(paths, supervisorPid, pid);
		await waitGone([supervisorPid, pid], 3000);
		cleanupAfterKill(paths, supervisorPid);
		return 'killed';
	}

	process.kill(supervisorPid, 'SIGTERM');
	const timeoutMs = options.timeoutMs ?? 15_000;
	if (await waitGone([supervisorPid], timeoutMs)) {
		await waitLockReleased(paths, 2000);
		return 'stopped';
	}

	killBoth(paths, supervisorPid, pid);
	await waitGone([supervisorPid, pid], 3000);
	cleanupAfterKill(paths, supervisorPid);
	return 'killed';
}

function killBoth(paths: InstancePaths, supervisorPid: number, workerPid: number | null): void {
	if (isOurProcess(supervisorPid, 'supervisor', paths)) {
		process.kill(supervisorPid, 'SIGKILL');
	}

	if (workerPid && isOurProcess(workerPid, 'worker', paths)) {
		process.kill(workerPid, 'SIGKILL');
	}
}

function cleanupAfterKill(paths: InstancePaths, supervisorPid: number): void {
	removePidfile(paths, supervisorPid);
	// The killed supervisor could not release its lock: remove it so the next start need not wait.
	fs.rmSync(paths.lock, {recursive: true, force: true});
}

async function waitGone(pids: Array<number | null>, timeoutMs: number): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (pids.every(pid => !pid || !isAlive(pid))) {
			return true;
		}

		await sleep(50);
	}

	return false;
}

async function waitLockReleased(paths: InstancePaths, timeoutMs: number): Promise<void> {
	const {default: lockfile} = await import('proper-lockfile');
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (!(await lockfile.check(paths.dir, {lockfilePath: paths.lock, realpath: false, stale: 5000}))) {
			return;
		}

		await sleep(50);
	}
}
