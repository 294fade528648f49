import type Database from 'better-sqlite3';

/** `message_events`: what happened to each message; `reported_ts` marks acknowledgement by the client. */
export class EventsTable {
	readonly #unreportedByTenant: Database.Statement<[], {tenant_id: string; n: number}>;

	constructor(private readonly db: Database.Database) {
		this.#unreportedByTenant = db.prepare('SELECT tenant_id, count(*) AS n FROM message_events WHERE reported_ts IS NULL GROUP BY tenant_id');
	}

	unreportedCounts(): Map<string, number> {
		return new Map(this.#unreportedByTenant.all().map(row => [row.tenant_id, row.n]));
	}
}
