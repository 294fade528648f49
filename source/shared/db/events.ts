import type Database from 'better-sqlite3';

export type EventType = 'sent' | 'error' | 'deferred' | 'bounce' | 'pec_acceptance' | 'pec_delivery' | 'pec_error' | 'pec_relay' | 'pec_timeout';

export type EventRow = {
	id: number;
	message_pk: string;
	tenant_id: string;
	event_type: EventType;
	event_ts: number;
	description: string | null;
	metadata: string | null;
	reported_ts: number | null;
};

/** `message_events`: what happened to each message; `reported_ts` marks acknowledgement by the client. */
export class EventsTable {
	readonly #unreportedByTenant: Database.Statement<[], {tenant_id: string; n: number}>;
	readonly #insert: Database.Statement<[string, string, string, number, string | null, string | null]>;
	readonly #ofMessages: Database.Statement<[string], EventRow>;

	constructor(private readonly db: Database.Database) {
		this.#unreportedByTenant = db.prepare('SELECT tenant_id, count(*) AS n FROM message_events WHERE reported_ts IS NULL GROUP BY tenant_id');
		this.#insert = db.prepare('INSERT INTO message_events (message_pk, tenant_id, event_type, event_ts, description, metadata) VALUES (?, ?, ?, ?, ?, ?)');
		this.#ofMessages = db.prepare('SELECT * FROM message_events WHERE message_pk IN (SELECT value FROM json_each(?)) ORDER BY id');
	}

	unreportedCounts(): Map<string, number> {
		return new Map(this.#unreportedByTenant.all().map(row => [row.tenant_id, row.n]));
	}

	insert(event: {messagePk: string; tenantId: string; type: EventType; ts: number; description?: string | null; metadata?: unknown}): number {
		const result = this.#insert.run(
			event.messagePk,
			event.tenantId,
			event.type,
			event.ts,
			event.description ?? null,
			event.metadata === undefined || event.metadata === null ? null : JSON.stringify(event.metadata),
		);
		return Number(result.lastInsertRowid);
	}

	/** The events of these messages, in event order. */
	ofMessages(pks: string[]): EventRow[] {
		return pks.length === 0 ? [] : this.#ofMessages.all(JSON.stringify(pks));
	}
}
