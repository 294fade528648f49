import type Database from 'better-sqlite3';

export type CommandEntry = {
	id: number;
	command_ts: number;
	endpoint: string;
	tenant_id: string | null;
	payload: unknown;
	response_status: number;
	response_body: unknown;
};

export type CommandFilter = {tenant_id?: string; since_ts?: number; until_ts?: number; endpoint_filter?: string; limit?: number; offset?: number};

type Row = Omit<CommandEntry, 'payload' | 'response_body'> & {payload: string | null; response_body: string | null};

/** `command_log`: the audit log of state-changing commands (payloads already redacted). */
export class CommandLogTable {
	readonly #insert: Database.Statement<[number, string, string | null, string, number, string | null]>;
	readonly #purge: Database.Statement<[number]>;

	constructor(private readonly db: Database.Database) {
		this.#insert = db.prepare('INSERT INTO command_log (command_ts, endpoint, tenant_id, payload, response_status, response_body) VALUES (?, ?, ?, ?, ?, ?)');
		this.#purge = db.prepare('DELETE FROM command_log WHERE command_ts < ?');
	}

	/** `payloadJson` and `responseJson` are already redacted JSON text. */
	insert(entry: {ts: number; endpoint: string; tenantId: string | null; payloadJson: string; status: number; responseJson: string | null}): void {
		this.#insert.run(entry.ts, entry.endpoint, entry.tenantId, entry.payloadJson, entry.status, entry.responseJson);
	}

	list(filter: CommandFilter, cap: number): CommandEntry[] {
		const where: string[] = [];
		const values: Array<string | number> = [];
		if (filter.tenant_id !== undefined) {
			where.push('tenant_id = ?');
			values.push(filter.tenant_id);
		}

		if (filter.since_ts !== undefined) {
			where.push('command_ts >= ?');
			values.push(filter.since_ts);
		}

		if (filter.until_ts !== undefined) {
			where.push('command_ts <= ?');
			values.push(filter.until_ts);
		}

		if (filter.endpoint_filter !== undefined) {
			where.push("instr(endpoint, ?) > 0");
			values.push(filter.endpoint_filter);
		}

		const sql = `SELECT * FROM command_log ${where.length > 0 ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY command_ts ASC, id ASC LIMIT ? OFFSET ?`;
		const rows = this.db.prepare<Array<string | number>, Row>(sql).all(...values, Math.min(filter.limit ?? cap, cap), filter.offset ?? 0);
		return rows.map(row => ({...row, payload: row.payload === null ? null : JSON.parse(row.payload), response_body: row.response_body === null ? null : JSON.parse(row.response_body)}));
	}

	/** Deletes entries older than `beforeTs`; returns how many. */
	purgeBefore(beforeTs: number): number {
		return this.#purge.run(beforeTs).changes;
	}
}
