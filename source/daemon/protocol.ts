/** IPC messages between the CLI, the supervisor and the worker. */

export type StartOptions = {host?: string; port?: number; foreground?: boolean};

/** Supervisor → the CLI that spawned it (readiness handshake). */
export type SupervisorReport =
	| {type: 'started'; host: string; port: number; pid: number}
	| {type: 'running'}
	| {type: 'failed'; message: string};

/** Worker → supervisor. */
export type WorkerReport = {type: 'ready'; host: string; port: number} | {type: 'fatal'; message: string};

/** Supervisor → worker. */
export type WorkerCommand = {type: 'shutdown'};

/** Exit code of a worker that cannot start for a reason a restart will not fix (config, port). */
export const EXIT_CONFIG = 78;

export function urlOf(host: string, port: number): string {
	const shown = host.includes(':') ? `[${host}]` : host;
	return `http://${shown}:${port}`;
}
