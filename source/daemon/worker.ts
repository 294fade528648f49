/**
 * The worker: one process per running instance, started by the supervisor as
 * `node worker.js <name> <home> [--host H] [--port P]`. It wires the daemon parts together; they meet
 * only through the store and the bus.
 */
import type http from 'node:http';
import {parseArgs} from 'node:util';
import {systemClock} from '../shared/clock.js';
import {loadConfig, type Config} from '../shared/config.js';
import {openStore} from '../shared/db/store.js';
import {errorMessage, failure, isAppError} from '../shared/errors.js';
import {portsTakenByOthers} from '../shared/operations/instances.js';
import {instancePaths} from '../shared/paths.js';
import {Bus, busEffects, type Daemon} from './context.js';
import {Authenticator} from './http/auth.js';
import {checkpointer} from './checkpointer.js';
import {housekeeping} from './housekeeping.js';
import {Dispatcher} from './dispatch/dispatcher.js';
import {Reporter} from './reports/reporter.js';
import {BouncePoller} from './bounce/poller.js';
import {PecPoller} from './pec/poller.js';
import {seedBounceConfig} from '../shared/operations/instance-settings.js';
import {Metrics} from './metrics.js';
import {createHttpServer} from './http/app.js';
import {allRoutes} from './http/routes/index.js';
import {createLogger} from './log.js';
import {EXIT_CONFIG, urlOf, type WorkerCommand, type WorkerReport} from './protocol.js';

export type Part = {name: string; start(): void | Promise<void>; stop(): Promise<void>};

const DRAIN_MS = 10_000;
const FIRST_PROBED_PORT = 8000;

function report(message: WorkerReport): void {
	process.send?.(message);
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
	return new Promise((resolve, reject) => {
		const onError = (error: Error) => {
			server.off('listening', onListening);
			reject(error);
		};

		const onListening = () => {
			server.off('error', onError);
			const address = server.address();
			resolve(typeof address === 'object' && address ? address.port : port);
		};

		server.once('error', onError);
		server.once('listening', onListening);
		server.listen({host, port, exclusive: true});
	});
}

/** `--port`, else GMP_PORT, else the stored port (all must be free), else the first free unclaimed port ≥ 8000. */
async function bind(server: http.Server, daemon: Daemon, explicit: {host?: string; port?: number}, config: Config): Promise<{host: string; port: number}> {
	const {store} = daemon;
	const storedPort = store.config.get('port');
	const host = explicit.host ?? config.host ?? store.config.get('host') ?? '127.0.0.1';
	const fixed = explicit.port ?? config.port ?? (storedPort ? Number(storedPort) : undefined);
	if (fixed !== undefined) {
		try {
			return {host, port: await listen(server, host, fixed)};
		} catch (error) {
			const code = (error as NodeJS.ErrnoException).code;
			throw failure(code === 'EADDRINUSE' ? `port ${fixed} is in use` : `cannot listen on ${host}:${fixed}: ${errorMessage(error)}`);
		}
	}

	const taken = portsTakenByOthers(daemon.paths);
	for (let port = FIRST_PROBED_PORT; port < 65_536; port++) {
		if (taken.has(port)) {
			continue;
		}

		try {
			return {host, port: await listen(server, host, port)};
		} catch (error) {
			const code = (error as NodeJS.ErrnoException).code;
			if (code !== 'EADDRINUSE' && code !== 'EACCES') {
				throw failure(`cannot listen on ${host}:${port}: ${errorMessage(error)}`);
			}
		}
	}

	throw failure('no free port found');
}

async function main(): Promise<void> {
	const {positionals, values} = parseArgs({allowPositionals: true, options: {host: {type: 'string'}, port: {type: 'string'}}});
	const [name, home] = positionals;
	const paths = instancePaths(name!, home);
	let config: Config;
	try {
		config = loadConfig(process.env);
	} catch (error) {
		report({type: 'fatal', message: errorMessage(error)});
		process.exit(EXIT_CONFIG);
	}

	const log = createLogger(line => process.stdout.write(line), config.logLevel);
	for (const ignored of config.ignoredVariables) {
		log.warn(`${ignored} is set but not honoured by mail-proxy`);
	}

	let store;
	try {
		store = openStore(paths, {dbPath: config.dbPath, autoCheckpoint: false});
		store.db.pragma('journal_size_limit = 67108864');
		// 8 MiB of page cache (default 2 MiB): the hot index pages of a large queue stay in memory while the
		// worker stays within its memory budget (the OS page cache holds the rest).
		store.db.pragma('cache_size = -8192');
	} catch (error) {
		report({type: 'fatal', message: errorMessage(error)});
		process.exit(EXIT_CONFIG);
	}

	store.enableGroupCommit();
	const bus = new Bus();
	const daemon: Daemon = {store, config, paths, log, bus, clock: systemClock, startedAt: Date.now(), draining: false, url: '', effects: busEffects(bus), metrics: new Metrics(store)};
	const server = createHttpServer({
		routes: allRoutes(daemon),
		auth: new Authenticator(store, config.apiToken),
		log: log.child('http'),
		maxBodyBytes: config.maxBodyBytes,
		isDraining: () => daemon.draining,
		baseUrl: () => daemon.url,
		debug: config.logLevel === 'debug',
	});

	let address: {host: string; port: number};
	try {
		address = await bind(server, daemon, {host: values.host, port: values.port === undefined ? undefined : Number(values.port)}, config);
	} catch (error) {
		const message = isAppError(error) ? error.message : errorMessage(error);
		report({type: 'fatal', message});
		log.error(message);
		process.exit(EXIT_CONFIG);
	}

	daemon.url = urlOf(address.host, address.port);
	if (store.config.get('host') !== address.host || store.config.get('port') !== String(address.port)) {
		store.transaction(() => {
			store.config.set('host', address.host);
			store.config.set('port', String(address.port));
		});
	}

	if (!['127.0.0.1', 'localhost', '::1'].includes(address.host)) {
		log.warn(`listening on ${address.host}, not loopback: put TLS in front of the REST API`);
	}

	if (seedBounceConfig(store, config.bounceSeed)) {
		log.info('bounce mailbox configured from GMP_BOUNCE_*');
	}

	const parts: Part[] = [checkpointer(daemon), new Dispatcher(daemon, daemon.metrics), new Reporter(daemon), new BouncePoller(daemon), new PecPoller(daemon), housekeeping(daemon)];
	for (const part of parts) {
		await part.start();
	}

	log.info(`listening on ${daemon.url}${config.testMode ? ' (test mode: loops run only on run-now)' : ''}`);
	report({type: 'ready', host: address.host, port: address.port});

	let stopping: Promise<void> | undefined;
	const shutdown = (why: string) => {
		stopping ??= (async () => {
			log.info(`draining (${why})`);
			daemon.draining = true;
			const closed = new Promise<void>(resolve => server.close(() => resolve()));
			server.closeIdleConnections();
			const deadline = new Promise<void>(resolve => setTimeout(resolve, DRAIN_MS).unref());
			await Promise.race([Promise.allSettled(parts.map(async part => part.stop())), deadline]);
			await Promise.race([closed, new Promise<void>(resolve => setTimeout(resolve, 500).unref())]);
			server.closeAllConnections();
			await store.closeDurably();
			log.info('worker stopped');
			process.exit(0);
		})();
	};

	process.on('message', (message: WorkerCommand) => {
		if (message?.type === 'shutdown') {
			shutdown('shutdown requested');
		}
	});
	process.on('SIGTERM', () => shutdown('SIGTERM'));
	process.on('SIGINT', () => shutdown('SIGINT'));
	// The supervisor is gone (killed): a worker must never outlive it, or two could share the database.
	process.on('disconnect', () => shutdown('supervisor gone'));
}

process.on('uncaughtException', error => {
	process.stdout.write(`${new Date().toISOString()} ERROR worker: uncaught exception: ${error.stack ?? error.message}\n`);
	process.exit(1);
});
process.on('unhandledRejection', error => {
	process.stdout.write(`${new Date().toISOString()} ERROR worker: unhandled rejection: ${(error as Error)?.stack ?? String(error)}\n`);
	process.exit(1);
});

void main();
