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
	readonly #unreported: Database.Statement<[string, number], EventRow & {message_id: string}>;
	readonly #acknowledge: Database.Statement<[number, string]>;
	readonly #sameBounce: Database.Statement<[string, string, string], {id: number}>;

	constructor(private readonly db: Database.Database) {
		this.#unreportedByTenant = db.prepare('SELECT tenant_id, count(*) AS n FROM message_events WHERE reported_ts IS NULL GROUP BY tenant_id');
		this.#insert = db.prepare('INSERT INTO message_events (message_pk, tenant_id, event_type, event_ts, description, metadata) VALUES (?, ?, ?, ?, ?, ?)');
		this.#ofMessages = db.prepare('SELECT * FROM message_events WHERE message_pk IN (SELECT value FROM json_each(?)) ORDER BY id');
		this.#unreported = db.prepare(`SELECT e.*, m.id AS message_id FROM message_events e JOIN messages m ON m.pk = e.message_pk
			WHERE e.tenant_id = ? AND e.reported_ts IS NULL ORDER BY e.id LIMIT ?`);
		this.#sameBounce = db.prepare(`SELECT id FROM message_events WHERE message_pk = ? AND event_type = 'bounce'
			AND json_extract(metadata, '$.dsn_message_id') = ? AND json_extract(metadata, '$.recipient') = ?`);
		this.#acknowledge = db.prepare('UPDATE message_events SET reported_ts = ? WHERE id IN (SELECT value FROM json_each(?)) AND reported_ts IS NULL');
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

	/** Whether this bounce notice was already recorded for this message and recipient. */
	hasBounce(messagePk: string, dsnMessageId: string, recipient: string): boolean {
		return this.#sameBounce.get(messagePk, dsnMessageId, recipient) !== undefined;
	}

	/** A tenant's events not yet acknowledged by its client, oldest first, with their message ids. */
	unreportedOf(tenantId: string, limit: number): Array<EventRow & {message_id: string}> {
		return this.#unreported.all(tenantId, limit);
	}

	/** The client answered 2xx: these events are reported. */
	acknowledge(ids: number[], ts: number): number {
		return ids.length === 0 ? 0 : this.#acknowledge.run(ts, JSON.stringify(ids)).changes;
	}

	/** The events of these messages, in event order. */
	ofMessages(pks: string[]): EventRow[] {
		return pks.length === 0 ? [] : this.#ofMessages.all(JSON.stringify(pks));
	}
}
