import fs from 'node:fs';
import {usageError} from '../../shared/errors.js';
import {exportCommands, listCommands, purgeCommands} from '../../shared/operations/command-log.js';
import type {InstancePaths} from '../../shared/paths.js';
import {parse} from '../args.js';
import {withStore} from '../instance.js';
import {printJson, printTable} from '../output.js';

/** Epoch seconds, or any date Date.parse understands (ISO-8601 recommended). */
export function parseTime(value: string | undefined, flag: string): number | undefined {
	if (value === undefined) {
		return undefined;
	}

	if (/^\d+$/.test(value)) {
		return Number(value);
	}

	const ms = Date.parse(value);
	if (Number.isNaN(ms)) {
		throw usageError(`${flag}: expected epoch seconds or a date like 2026-11-24T10:00:00Z`);
	}

	return Math.floor(ms / 1000);
}

async function list(paths: InstancePaths, argv: string[]): Promise<number> {
	const {flags} = parse(argv, {
		help: 'mail-proxy <instance> command-log list [--tenant T] [--since TS] [--until TS] [--endpoint SUBSTR] [--limit N] [--json]',
		flags: {tenant: {type: 'string'}, since: {type: 'string'}, until: {type: 'string'}, endpoint: {type: 'string'}, limit: {type: 'number'}, json: {type: 'boolean'}},
	});
	if (flags.limit !== undefined && (!Number.isInteger(flags.limit) || flags.limit < 1 || flags.limit > 10_000)) {
		throw usageError('--limit must be an integer between 1 and 10000');
	}

	return withStore(paths, store => {
		const result = listCommands(store, {
			tenant_id: flags.tenant,
			since_ts: parseTime(flags.since, '--since'),
			until_ts: parseTime(flags.until, '--until'),
			endpoint_filter: flags.endpoint,
			limit: flags.limit,
		});
		if (flags.json) {
			printJson(result.commands);
			return 0;
		}

		printTable(
			result.commands,
			[
				{header: 'ID', value: c => c.id},
				{header: 'TIME (UTC)', value: c => new Date(c.command_ts * 1000).toISOString().slice(0, 19).replace('T', ' ')},
				{header: 'COMMAND', value: c => c.endpoint},
				{header: 'TENANT', value: c => c.tenant_id},
				{header: 'STATUS', value: c => c.response_status},
				{header: 'PAYLOAD', value: c => JSON.stringify(c.payload)},
			],
			'no commands logged',
		);
		return 0;
	});
}

async function exportLog(paths: InstancePaths, argv: string[]): Promise<number> {
	const {flags} = parse(argv, {
		help: 'mail-proxy <instance> command-log export [-o FILE] [--tenant T] [--since TS] [--until TS]\n\nWrites the log as one JSON object (at most 100 000 entries) to FILE or stdout.',
		flags: {output: {type: 'string', shortFlag: 'o'}, tenant: {type: 'string'}, since: {type: 'string'}, until: {type: 'string'}},
	});
	return withStore(paths, store => {
		const result = exportCommands(store, {tenant_id: flags.tenant, since_ts: parseTime(flags.since, '--since'), until_ts: parseTime(flags.until, '--until')});
		const text = JSON.stringify(result, null, 2) + '\n';
		if (flags.output) {
			fs.writeFileSync(flags.output, text, {mode: 0o600});
			process.stderr.write(`${result.commands.length} entries written to ${flags.output}\n`);
		} else {
			process.stdout.write(text);
		}

		return 0;
	});
}

async function purge(paths: InstancePaths, argv: string[]): Promise<number> {
	const {flags} = parse(argv, {help: 'mail-proxy <instance> command-log purge --before TS\n\nDeletes entries older than TS (epoch seconds or a date).', flags: {before: {type: 'string'}, json: {type: 'boolean'}}});
	const before = parseTime(flags.before, '--before');
	if (before === undefined) {
		throw usageError('missing --before (epoch seconds or a date)');
	}

	return withStore(paths, store => {
		const result = purgeCommands(store, before);
		if (flags.json) {
			printJson(result);
		} else {
			process.stdout.write(`${result.removed} entries removed\n`);
		}

		return 0;
	});
}

export async function commandLog(paths: InstancePaths, argv: string[]): Promise<number> {
	const [sub, ...rest] = argv;
	const commands: Record<string, (paths: InstancePaths, argv: string[]) => Promise<number>> = {list, export: exportLog, purge};
	const run = sub === undefined ? undefined : commands[sub];
	if (!run) {
		if (sub === undefined || sub === '--help') {
			process.stdout.write('Usage: mail-proxy <instance> command-log list|export|purge ...\n');
			return sub === undefined ? 2 : 0;
		}

		throw usageError(`unknown command-log command '${sub}' (list, export, purge)`);
	}

	return run(paths, rest);
}
