import type {CommandFilter} from '../db/command-log.js';
import type {Store} from '../db/store.js';

/** `GET /command-log`. */
export function listCommands(store: Store, filter: CommandFilter) {
	const commands = store.commandLog.list({...filter, limit: filter.limit ?? 100}, 10_000).map(entry => ({
		id: entry.id,
		command_ts: entry.command_ts,
		endpoint: entry.endpoint,
		tenant_id: entry.tenant_id,
		payload: entry.payload,
		response_status: entry.response_status,
	}));
	return {ok: true as const, commands, total: commands.length};
}

/** `GET /command-log/export`: one JSON object, at most 100 000 entries. */
export function exportCommands(store: Store, filter: Pick<CommandFilter, 'tenant_id' | 'since_ts' | 'until_ts'>) {
	const commands = store.commandLog.list({...filter, limit: 100_000}, 100_000).map(entry => ({
		endpoint: entry.endpoint,
		tenant_id: entry.tenant_id,
		payload: entry.payload,
		command_ts: entry.command_ts,
	}));
	return {ok: true as const, commands};
}

export function purgeCommands(store: Store, beforeTs: number): {ok: true; removed: number} {
	return {ok: true, removed: store.transaction(() => store.commandLog.purgeBefore(beforeTs))};
}
