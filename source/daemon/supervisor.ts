/**
 * The supervisor of one instance: holds the instance lock for its whole life, owns the pidfile and the
 * daemon log, runs the worker as a child process and restarts it when it crashes.
 *
 * Started by `mail-proxy start` as `node supervisor.js <name> <home>` (detached, IPC handshake) or
 * attached to the terminal with `--foreground`.
 */
import {fork, type ChildProcess} from 'node:child_process';
import {setTimeout as sleep} from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import {errorMessage} from '../shared/errors.js';
import {instancePaths, type InstancePaths} from '../shared/paths.js';
import {isOurProcess, readPidfile, removePidfile, writePidfile, type PidInfo} from '../shared/pidfile.js';
import {version} from '../shared/version.js';
import {formatLine, lineSplitter, RotatingLog} from './log.js';
import {EXIT_CONFIG, urlOf, type StartOptions, type SupervisorReport, type WorkerCommand, type WorkerReport} from './protocol.js';
import {RestartPolicy} from './restart-policy.js';

const LOCK_STALE_MS = 3000;
const LOCK_WAIT_MS = 8000;
const SHUTDOWN_GRACE_MS = 12_000;

class AlreadyRunning extends Error {}

class Supervisor {
	readonly #log: RotatingLog;
	readonly #policy = new RestartPolicy();
	#release: (() => Promise<void>) | undefined;
	#worker: ChildProcess | undefined;
	#workerStartedAt = 0;
	#restartTimer: NodeJS.Timeout | undefined;
	#everReady = false;
	#stopping = false;
	/** What the worker is told to bind: the CLI flags at first, the address it actually got afterwards. */
	#bind: {host?: string; port?: number};
	#pid: PidInfo;

	constructor(private readonly paths: InstancePaths, private readonly options: StartOptions) {
		const echo = options.foreground ? (line: string) => process.stdout.write(line) : undefined;
		this.#log = new RotatingLog(paths.log, {echo});
		this.#bind = {host: options.host, port: options.port};
		this.#pid = {pid: null, supervisorPid: process.pid, host: options.host ?? '127.0.0.1', port: options.port ?? 0, startedAt: new Date().toISOString(), version, restarts: 0};
	}

	log(level: 'info' | 'warn' | 'error', message: string): void {
		this.#log.write(formatLine(level, 'supervisor', message));
	}

	async run(): Promise<void> {
		try {
			this.#release = await this.#acquireLock();
		} catch (error) {
			if (error instanceof AlreadyRunning) {
				this.#report({type: 'running'});
				this.#exit(0, false);
				return;
			}

			this.#fail(`cannot lock the instance: ${errorMessage(error)}`);
			return;
		}

		writePidfile(this.paths, this.#pid);
		process.on('SIGTERM', () => void this.stop('SIGTERM'));
		process.on('SIGINT', () => void this.stop('SIGINT'));
		process.on('SIGHUP', () => {});
		this.log('info', `starting instance '${this.paths.name}' (mail-proxy ${version}, pid ${process.pid})`);
		this.#startWorker();
	}

	async #acquireLock(): Promise<() => Promise<void>> {
		const deadline = Date.now() + LOCK_WAIT_MS;
		for (;;) {
			try {
				return await lockfile.lock(this.paths.dir, {
					lockfilePath: this.paths.lock,
					realpath: false,
					stale: LOCK_STALE_MS,
					update: 1000,
					onCompromised: error => {
						this.log('error', `instance lock lost (${error.message}); stopping`);
						void this.stop('lock lost');
					},
				});
			} catch (error) {
				if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
					throw error;
				}

				// Held by a live supervisor of this instance: it is running. Held by nobody alive: the lock is
				// stale (supervisor killed) and proper-lockfile takes it over once its mtime is old enough.
				const holder = readPidfile(this.paths);
				if (holder && holder.supervisorPid !== process.pid && isOurProcess(holder.supervisorPid, 'supervisor', this.paths)) {
					throw new AlreadyRunning();
				}

				if (Date.now() > deadline) {
					throw new AlreadyRunning();
				}

				await sleep(100);
			}
		}
	}

	#startWorker(): void {
		const args = [this.paths.name, this.paths.home];
		if (this.#bind.host !== undefined) {
			args.push('--host', this.#bind.host);
		}

		if (this.#bind.port !== undefined) {
			args.push('--port', String(this.#bind.port));
		}

		// Small young-generation semi-spaces: the worker's steady memory matters more than the last percent
		// of allocation throughput. --expose-gc lets housekeeping hand memory back after a burst.
		const worker = fork(new URL('worker.js', import.meta.url), args, {stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: process.env, execArgv: ['--max-semi-space-size=2', '--expose-gc']});
		this.#worker = worker;
		this.#workerStartedAt = Date.now();
		const toLog = lineSplitter(line => this.#log.write(line));
		worker.stdout!.on('data', toLog);
		worker.stderr!.on('data', lineSplitter(line => this.#log.write(formatLine('error', 'worker/stderr', line.trimEnd()))));
		worker.on('message', (message: WorkerReport) => this.#onWorkerMessage(worker, message));
		worker.on('exit', (code, signal) => this.#onWorkerExit(worker, code, signal));
		worker.on('error', error => this.log('error', `worker process error: ${error.message}`));
	}

	#onWorkerMessage(worker: ChildProcess, message: WorkerReport): void {
		if (message.type === 'ready') {
			this.#bind = {host: message.host, port: message.port};
			this.#pid = {...this.#pid, pid: worker.pid ?? null, host: message.host, port: message.port};
			writePidfile(this.paths, this.#pid);
			this.log('info', `worker ${worker.pid} ready on ${urlOf(message.host, message.port)}`);
			if (!this.#everReady) {
				this.#everReady = true;
				this.#report({type: 'started', host: message.host, port: message.port, pid: process.pid});
				if (process.connected) {
					process.disconnect();
				}
			}
		} else if (message.type === 'fatal') {
			this.log('error', message.message);
			if (!this.#everReady) {
				this.#fail(message.message);
			}
		}
	}

	#onWorkerExit(worker: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
		if (worker !== this.#worker) {
			return;
		}

		this.#worker = undefined;
		this.#pid = {...this.#pid, pid: null};
		const how = signal ? `signal ${signal}` : `code ${code}`;
		if (this.#stopping) {
			this.log('info', `worker exited (${how})`);
			void this.#finish(0);
			return;
		}

		if (!this.#everReady) {
			// The first worker never came up: report why to `start` instead of retrying.
			this.#fail(code === EXIT_CONFIG ? 'the worker refused to start (see the log)' : `the worker exited during start-up (${how})`);
			return;
		}

		const uptime = Date.now() - this.#workerStartedAt;
		const decision = this.#policy.onExit(uptime);
		if (!decision.restart) {
			this.log('error', `giving up: ${decision.reason}; the instance is stopped`);
			void this.#finish(1);
			return;
		}

		this.#pid = {...this.#pid, restarts: this.#pid.restarts + 1};
		writePidfile(this.paths, this.#pid);
		this.log('warn', `worker exited (${how}) after ${(uptime / 1000).toFixed(1)} s; restarting in ${decision.delayMs} ms`);
		this.#restartTimer = setTimeout(() => this.#startWorker(), decision.delayMs);
	}

	async stop(reason: string): Promise<void> {
		if (this.#stopping) {
			return;
		}

		this.#stopping = true;
		this.log('info', `stopping (${reason})`);
		clearTimeout(this.#restartTimer);
		const worker = this.#worker;
		if (!worker) {
			await this.#finish(0);
			return;
		}

		if (worker.connected) {
			worker.send({type: 'shutdown'} satisfies WorkerCommand);
		} else {
			worker.kill('SIGTERM');
		}

		// Not unref'd: a worker stuck in synchronous code ignores its shutdown message and must be killed.
		setTimeout(() => {
			if (this.#worker === worker) {
				this.log('warn', `worker did not stop within ${SHUTDOWN_GRACE_MS / 1000} s; killing it`);
				worker.kill('SIGKILL');
			}
		}, SHUTDOWN_GRACE_MS);
	}

	#report(message: SupervisorReport): void {
		if (process.connected) {
			process.send!(message);
		}
	}

	#fail(message: string): void {
		this.log('error', `start failed: ${message}`);
		this.#report({type: 'failed', message});
		this.#stopping = true;
		if (this.#worker) {
			this.#worker.kill('SIGKILL');
		}

		void this.#finish(1);
	}

	async #finish(code: number): Promise<void> {
		this.#exit(code, true);
	}

	#exit(code: number, owner: boolean): void {
		const done = async () => {
			if (owner) {
				removePidfile(this.paths, process.pid);
				try {
					await this.#release?.();
				} catch {}

				this.log('info', 'stopped');
			}

			this.#log.close();
			process.exit(code);
		};

		void done();
	}
}

const [name, home] = process.argv.slice(2);
const options = JSON.parse(process.env['MAIL_PROXY_START_OPTIONS'] ?? '{}') as StartOptions;
delete process.env['MAIL_PROXY_START_OPTIONS'];
if (!name || !home) {
	process.stderr.write('usage: supervisor.js <instance> <home>\n');
	process.exit(2);
}

const supervisor = new Supervisor(instancePaths(name, home), options);
process.on('uncaughtException', error => {
	supervisor.log('error', `supervisor failure: ${error.stack ?? error.message}`);
	void supervisor.stop('internal error');
});
void supervisor.run();
