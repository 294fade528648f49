import type {ExecutionContext} from 'ava';
import {instancePaths, type InstancePaths} from '../../source/shared/paths.js';
import {readPidfile} from '../../source/shared/pidfile.js';
import {cli, type CliResult} from './cli.js';
import {freePort, tempHome} from './home.js';

export type Instance = {
	home: string;
	name: string;
	url: string;
	token: string;
	paths: InstancePaths;
	cli(args: string[], options?: {env?: Record<string, string>; input?: string}): Promise<CliResult>;
	/** fetch against the daemon with the admin token (or `token`) set. */
	request(method: string, path: string, options?: {body?: unknown; token?: string | null; headers?: Record<string, string>}): Promise<{status: number; body: any; headers: Headers}>;
	workerPid(): number;
	supervisorPid(): number;
};

/** Starts a real detached daemon under a temporary home (killed in teardown). */
export async function startInstance(
	t: ExecutionContext,
	options: {home?: string; name?: string; env?: Record<string, string>; args?: string[]; probePort?: boolean} = {},
): Promise<Instance> {
	const home = options.home ?? tempHome(t);
	const name = options.name ?? 'test';
	const env = options.env ?? {};
	// Tests run in parallel under different homes, which cannot see each other's stored ports: each
	// instance gets a port from the OS unless the test is about port probing.
	const port = options.probePort || options.args?.includes('--port') ? [] : ['--port', String(await freePort())];
	const started = await cli(home, ['start', name, '--json', ...port, ...(options.args ?? [])], {env});
	if (started.exitCode !== 0) {
		throw new Error(`start failed (${started.exitCode}): ${started.stderr}`);
	}

	const result = JSON.parse(started.stdout) as {url: string; api_token?: string};
	const paths = instancePaths(name, home);
	const token = result.api_token ?? (await cli(home, [name, 'token'], {env})).stdout.trim();
	const instance: Instance = {
		home,
		name,
		url: result.url,
		token,
		paths,
		cli: async (args, more = {}) => cli(home, args, {...more, env: {...env, ...more.env}}),
		async request(method, path, more = {}) {
			const headers: Record<string, string> = {...more.headers};
			const presented = more.token === undefined ? instance.token : more.token;
			if (presented !== null) {
				headers['X-API-Token'] = presented;
			}

			let body: string | undefined;
			if (more.body !== undefined) {
				headers['Content-Type'] ??= 'application/json';
				body = typeof more.body === 'string' ? more.body : JSON.stringify(more.body);
			}

			let response: Response;
			try {
				response = await fetch(instance.url + path, {method, headers, body});
			} catch (error) {
				const cause = (error as {cause?: {message?: string; code?: string}}).cause;
				throw new Error(`${method} ${path}: ${(error as Error).message} (${cause?.code ?? ''} ${cause?.message ?? ''})`, {cause: error});
			}

			const text = await response.text();
			let parsed: unknown = text;
			try {
				parsed = JSON.parse(text);
			} catch {}

			return {status: response.status, body: parsed, headers: response.headers};
		},
		workerPid: () => readPidfile(paths)!.pid!,
		supervisorPid: () => readPidfile(paths)!.supervisorPid,
	};
	return instance;
}
