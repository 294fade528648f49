import fs from 'node:fs';
import {setTimeout as sleep} from 'node:timers/promises';
import {usageError} from '../../shared/errors.js';
import {readAdminToken, regenerateAdminToken} from '../../shared/operations/admin-token.js';
import type {InstancePaths} from '../../shared/paths.js';
import {parse} from '../args.js';
import {withStore} from '../instance.js';
import {cliContext} from '../ops.js';
import {paint, printFields, printJson} from '../output.js';
import {summarize} from './global.js';

function mask(token: string): string {
	return token.slice(0, 4) + '*'.repeat(Math.max(0, token.length - 4));
}

export async function info(paths: InstancePaths, argv: string[]): Promise<number> {
	const {flags} = parse(argv, {
		help: 'mail-proxy <instance> info [--json] [--show-token]\n\nPaths, address, status and the admin token (masked unless --show-token).',
		flags: {json: {type: 'boolean'}, showToken: {type: 'boolean'}},
	});
	const summary = summarize(paths);
	const token = await withStore(paths, store => readAdminToken(store));
	const shown = token === undefined ? null : flags.showToken ? token : mask(token);
	const result = {
		name: paths.name,
		status: summary.status,
		url: summary.url,
		host: summary.host,
		port: summary.port,
		pid: summary.pid,
		supervisor_pid: summary.supervisor_pid,
		dir: paths.dir,
		db: paths.db,
		log: paths.log,
		key_file: process.env['MAIL_PROXY_ENCRYPTION_KEY'] ? null : paths.key,
		api_token: shown,
	};
	if (flags.json) {
		printJson(result);
		return 0;
	}

	printFields([
		['instance', result.name],
		['status', result.status],
		['url', result.url],
		['pid', result.pid],
		['directory', result.dir],
		['database', result.db],
		['log', result.log],
		['key file', result.key_file ?? '(MAIL_PROXY_ENCRYPTION_KEY)'],
		['admin token', result.api_token],
	]);
	return 0;
}

export async function token(paths: InstancePaths, argv: string[]): Promise<number> {
	const {flags} = parse(argv, {
		help: 'mail-proxy <instance> token [--regenerate]\n\nPrints the admin token. --regenerate replaces it (the running daemon accepts only the new one at once).',
		flags: {regenerate: {type: 'boolean'}},
	});
	const value = await withStore(paths, async store => {
		if (!flags.regenerate) {
			return readAdminToken(store);
		}

		const fresh = regenerateAdminToken(store);
		// The running daemon re-reads the token when it sees one it does not know: show it the new one.
		const context = cliContext(paths, store);
		context.effects?.messagesReady?.();
		await context.flush();
		return fresh;
	});
	process.stdout.write(`${value ?? ''}\n`);
	if (process.env['GMP_API_TOKEN'] && process.stderr.isTTY) {
		process.stderr.write(paint('yellow', 'note: GMP_API_TOKEN is set in this environment; a daemon started with it accepts only that token\n', process.stderr));
	}

	return 0;
}

function lastLines(file: string, count: number): {text: string; size: number} {
	let fd: number;
	try {
		fd = fs.openSync(file, 'r');
	} catch {
		return {text: '', size: 0};
	}

	try {
		const {size} = fs.fstatSync(fd);
		let start = size;
		let text = '';
		while (start > 0) {
			const length = Math.min(64 * 1024, start);
			start -= length;
			const buffer = Buffer.alloc(length);
			fs.readSync(fd, buffer, 0, length, start);
			text = buffer.toString('utf8') + text;
			if (text.split('\n').length > count + 1) {
				break;
			}
		}

		const lines = text.split('\n');
		if (lines.at(-1) === '') {
			lines.pop();
		}

		return {text: lines.slice(-count).map(line => line + '\n').join(''), size};
	} finally {
		fs.closeSync(fd);
	}
}

export async function logs(paths: InstancePaths, argv: string[]): Promise<number> {
	const {flags} = parse(argv, {
		help: 'mail-proxy <instance> logs [-f] [-n N]\n\nShows the last N lines (default 50) of the daemon log; -f follows it (Ctrl-C to stop).',
		flags: {follow: {type: 'boolean', shortFlag: 'f'}, lines: {type: 'number', shortFlag: 'n', default: 50}},
	});
	if (!Number.isInteger(flags.lines) || flags.lines < 0) {
		throw usageError('-n must be a non-negative integer');
	}

	const {text, size} = lastLines(paths.log, flags.lines);
	process.stdout.write(text);
	if (!flags.follow) {
		return 0;
	}

	// Follow by polling: survives rotation (the file shrinks or is replaced) and needs no watcher.
	let position = size;
	let inode = fs.existsSync(paths.log) ? fs.statSync(paths.log).ino : 0;
	let stopped = false;
	process.once('SIGINT', () => (stopped = true));
	process.stdout.on('error', () => (stopped = true));
	while (!stopped) {
		await sleep(200);
		let stat: fs.Stats;
		try {
			stat = fs.statSync(paths.log);
		} catch {
			continue;
		}

		if (stat.ino !== inode || stat.size < position) {
			inode = stat.ino;
			position = 0;
		}

		if (stat.size > position) {
			const fd = fs.openSync(paths.log, 'r');
			const buffer = Buffer.alloc(stat.size - position);
			fs.readSync(fd, buffer, 0, buffer.length, position);
			fs.closeSync(fd);
			position = stat.size;
			process.stdout.write(buffer);
		}
	}

	return 0;
}

export async function stats(paths: InstancePaths, argv: string[]): Promise<number> {
	const {flags} = parse(argv, {help: 'mail-proxy <instance> stats [--json]\n\nTenants, accounts and messages by status.', flags: {json: {type: 'boolean'}}});
	const {instanceStats} = await import('../../shared/operations/queue.js');
	const result = await withStore(paths, store => instanceStats(store));
	if (flags.json) {
		printJson(result);
		return 0;
	}

	const m = result.messages;
	printFields([
		['tenants', result.tenants],
		['accounts', result.accounts],
		['messages', m.total],
		['  pending', m.pending],
		['  deferred', m.deferred],
		['  suspended', m.suspended],
		['  sending', m.sending],
		['  sent', m.sent],
		['  error', m.error],
		['  bounced', m.bounced],
	]);
	return 0;
}
