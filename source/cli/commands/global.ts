import fs from 'node:fs';
import {peekInstance} from '../../shared/db/peek.js';
import {openStore} from '../../shared/db/store.js';
import {usageError} from '../../shared/errors.js';
import {setAdminToken} from '../../shared/operations/admin-token.js';
import {ensureInstance, instanceExists} from '../../shared/operations/create-instance.js';
import {listInstanceNames} from '../../shared/operations/instances.js';
import {assertName, homeDir, instancePaths, type InstancePaths} from '../../shared/paths.js';
import {instanceState} from '../../shared/pidfile.js';
import {urlOf} from '../../daemon/protocol.js';
import {parse} from '../args.js';
import {isHealthy, runForeground, startDetached, stopInstance} from '../lifecycle.js';
import {existingInstance} from '../instance.js';
import {formatDuration, paint, printFields, printJson, printTable, spinner} from '../output.js';
import {confirmOrForce} from '../tty.js';

export type InstanceSummary = {
	name: string;
	status: 'running' | 'stopped' | 'stale';
	pid: number | null;
	supervisor_pid: number | null;
	host: string | null;
	port: number | null;
	url: string | null;
	uptime_seconds: number | null;
	restarts: number | null;
	pending_messages: number | null;
};

export function summarize(paths: InstancePaths): InstanceSummary {
	const {state, info} = instanceState(paths);
	const peek = peekInstance(paths);
	const running = state === 'running' && info;
	const host = running ? info.host : peek.host ?? null;
	const port = running ? info.port : peek.port ?? null;
	return {
		name: paths.name,
		status: state,
		pid: running ? info.pid : null,
		supervisor_pid: running ? info.supervisorPid : null,
		host,
		port,
		url: host && port ? urlOf(host, port) : null,
		uptime_seconds: running ? Math.max(0, Math.floor((Date.now() - Date.parse(info.startedAt)) / 1000)) : null,
		restarts: running ? info.restarts : null,
		pending_messages: peek.pending ?? null,
	};
}

function colorStatus(status: InstanceSummary['status']): string {
	return paint(status === 'running' ? 'green' : status === 'stale' ? 'yellow' : 'dim', status);
}

export async function list(argv: string[]): Promise<number> {
	const {flags} = parse(argv, {help: 'mail-proxy list [--json]\n\nEvery instance under $MAIL_PROXY_HOME with its status.', flags: {json: {type: 'boolean'}}});
	const rows = listInstanceNames(homeDir()).map(name => summarize(instancePaths(name)));
	if (flags.json) {
		printJson(rows);
		return 0;
	}

	printTable(
		rows,
		[
			{header: 'NAME', value: r => r.name},
			{header: 'STATUS', value: r => colorStatus(r.status)},
			{header: 'PID', value: r => r.pid},
			{header: 'ADDRESS', value: r => (r.host && r.port ? `${r.host}:${r.port}` : '')},
			{header: 'URL', value: r => r.url},
			{header: 'UPTIME', value: r => (r.uptime_seconds === null ? '' : formatDuration(r.uptime_seconds))},
			{header: 'PENDING', value: r => r.pending_messages},
		],
		'no instances — create one with `mail-proxy start <name>`',
	);
	return 0;
}

const startSpec = {
	help: `mail-proxy start <instance> [--host H] [--port P] [--foreground] [--api-token T] [--json]

Creates the instance on first use and starts its daemon. Returns once /health answers.
  --host         listen address (default: stored, else 127.0.0.1)
  --port         listen port (default: stored, else the first free port >= 8000)
  --foreground   run attached to this terminal; stop with Ctrl-C
  --api-token    admin token to use (at least 32 characters)
  --json         print the result as JSON`,
	flags: {
		host: {type: 'string'},
		port: {type: 'number'},
		foreground: {type: 'boolean'},
		apiToken: {type: 'string'},
		json: {type: 'boolean'},
	},
	args: [1, 1] as [number, number],
} as const;

export async function start(argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, startSpec);
	const paths = instancePaths(assertName(input[0]));
	if (flags.port !== undefined && (!Number.isInteger(flags.port) || flags.port < 1 || flags.port > 65_535)) {
		throw usageError('--port must be an integer between 1 and 65535');
	}

	if (flags.host !== undefined && !/^[\w.:-]+$/.test(flags.host)) {
		throw usageError(`--host ${JSON.stringify(flags.host)} is not a valid address`);
	}

	const {created, token} = ensureInstance(paths, {apiToken: flags.apiToken});
	if (!created && flags.apiToken !== undefined) {
		if (flags.apiToken.length < 32) {
			throw usageError('--api-token must be at least 32 characters');
		}

		const store = openStore(paths);
		try {
			setAdminToken(store, flags.apiToken);
		} finally {
			store.close();
		}
	}

	const options = {host: flags.host, port: flags.port};
	if (flags.foreground) {
		if (created) {
			process.stderr.write(`created instance '${paths.name}' in ${paths.dir}\nadmin token: ${token}\n`);
		}

		return runForeground(paths, options);
	}

	const {state, info} = instanceState(paths);
	if (state === 'running' && info && info.port > 0 && (await isHealthy(urlOf(info.host, info.port)))) {
		return report({alreadyRunning: true, url: urlOf(info.host, info.port), pid: info.supervisorPid});
	}

	const wait = spinner(`starting ${paths.name}`);
	let result;
	try {
		result = await startDetached(paths, options);
	} catch (error) {
		if (created) {
			// A first start that fails leaves nothing behind (its token was never shown).
			fs.rmSync(paths.dir, {recursive: true, force: true});
		}

		throw error;
	} finally {
		wait.stop();
	}

	return report({alreadyRunning: result.alreadyRunning, url: result.url, pid: result.info.supervisorPid});

	function report(outcome: {alreadyRunning: boolean; url: string; pid: number}): number {
		if (flags.json) {
			printJson({name: paths.name, status: 'running', url: outcome.url, supervisor_pid: outcome.pid, already_running: outcome.alreadyRunning, created, ...(created ? {api_token: token} : {})});
			return 0;
		}

		if (outcome.alreadyRunning) {
			process.stdout.write(`instance '${paths.name}' is already running at ${outcome.url}\n`);
		} else {
			process.stdout.write(`instance '${paths.name}' started at ${outcome.url}\n`);
		}

		if (created) {
			process.stdout.write(`created ${paths.dir}\nadmin token: ${token}\n(send it as X-API-Token; \`mail-proxy ${paths.name} token\` shows it again)\n`);
		}

		return 0;
	}
}

const stopSpec = {
	help: `mail-proxy stop <instance> [--force] [--timeout S]

Stops the daemon: in-flight sends drain (at most 10 s), then it exits.
  --force     kill at once (SIGKILL)
  --timeout   seconds to wait before killing (default 15)`,
	flags: {force: {type: 'boolean'}, timeout: {type: 'number'}},
	args: [1, 1] as [number, number],
} as const;

export async function stop(argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, stopSpec);
	const paths = existingInstance(assertName(input[0]));
	if (flags.timeout !== undefined && flags.timeout <= 0) {
		throw usageError('--timeout must be a positive number of seconds');
	}

	const wait = spinner(`stopping ${paths.name}`);
	let outcome;
	try {
		outcome = await stopInstance(paths, {force: flags.force, timeoutMs: flags.timeout === undefined ? undefined : flags.timeout * 1000});
	} finally {
		wait.stop();
	}

	const messages = {
		stopped: `instance '${paths.name}' stopped`,
		killed: `instance '${paths.name}' killed`,
		'was-not-running': `instance '${paths.name}' was not running (stale pidfile removed)`,
		'not-running': `instance '${paths.name}' is not running`,
	};
	process.stdout.write(messages[outcome] + '\n');
	return 0;
}

export async function restart(argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, {
		help: 'mail-proxy restart <instance> [--force]\n\nStops the daemon (see stop) and starts it again on the same address.',
		flags: {force: {type: 'boolean'}, json: {type: 'boolean'}},
		args: [1, 1],
	});
	const paths = existingInstance(assertName(input[0]));
	await stopInstance(paths, {force: flags.force});
	return start([paths.name, ...(flags.json ? ['--json'] : [])]);
}

export async function status(argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, {
		help: 'mail-proxy status <instance> [--json]\n\nRunning, stopped or stale; pids, address, uptime, restarts, paths.',
		flags: {json: {type: 'boolean'}},
		args: [1, 1],
	});
	const paths = existingInstance(assertName(input[0]));
	const summary = summarize(paths);
	const healthy = summary.status === 'running' && summary.url ? await isHealthy(summary.url, 3000) : false;
	const result = {...summary, healthy, db: paths.db, log: paths.log, dir: paths.dir};
	if (flags.json) {
		printJson(result);
		return 0;
	}

	printFields([
		['instance', result.name],
		['status', colorStatus(result.status) + (result.status === 'running' && !healthy ? paint('yellow', ' (not answering)') : '')],
		['url', result.url],
		['pid', result.pid],
		['supervisor pid', result.supervisor_pid],
		['uptime', result.uptime_seconds === null ? null : formatDuration(result.uptime_seconds)],
		['restarts', result.restarts],
		['pending', result.pending_messages],
		['database', result.db],
		['log', result.log],
	]);
	if (result.status === 'stale') {
		process.stdout.write(paint('yellow', `the daemon died without cleaning up; \`mail-proxy start ${paths.name}\` starts it again\n`));
	}

	return 0;
}

export async function remove(argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, {
		help: 'mail-proxy delete <instance> [--force]\n\nStops the instance and removes its directory with all its data. Asks first unless --force.',
		flags: {force: {type: 'boolean'}},
		args: [1, 1],
	});
	const name = assertName(input[0]);
	const paths = instancePaths(name);
	if (!instanceExists(paths) && !fs.existsSync(paths.dir)) {
		existingInstance(name);
	}

	if (!(await confirmOrForce(`Delete instance '${name}' and all its data (${paths.dir})?`, flags.force))) {
		process.stdout.write('nothing deleted\n');
		return 1;
	}

	await stopInstance(paths, {force: false});
	fs.rmSync(paths.dir, {recursive: true, force: true});
	process.stdout.write(`instance '${name}' deleted\n`);
	return 0;
}
