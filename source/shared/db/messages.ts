import type Database from 'better-sqlite3';

export type MessageStatus = 'pending' | 'deferred' | 'suspended' | 'sending' | 'sent' | 'error' | 'bounced';
export const STATUSES: MessageStatus[] = ['pending', 'deferred', 'suspended', 'sending', 'sent', 'error', 'bounced'];

export type MessageRow = {
	pk: string;
	id: string;
	tenant_id: string;
	account_id: string | null;
	priority: number;
	payload: string;
	batch_code: string | null;
	deferred_ts: number | null;
	smtp_ts: number | null;
	retry_count: number;
	is_pec: number;
	lease_owner: string | null;
	lease_expires_ts: number | null;
	created_at: string;
	updated_at: string;
};

export type ListedMessage = MessageRow & {status: MessageStatus; tenant_name: string | null};

export type NewMessage = {
	pk: string;
	id: string;
	tenant_id: string;
	account_id: string | null;
	/** Set for a message stored directly as an error (a rejected one). */
	smtp_ts: number | null;
	priority: number;
	payload: string;
	batch_code: string | null;
	deferred_ts: number | null;
	is_pec: boolean;
	now: string;
	nowTs: number;
};

/**
 * The derived status of engine §2.7 as one SQL expression (`m` = messages, `t` = tenants, `@now`):
 * used for listing, filtering and counting so that the rule exists once.
 */
const STATUS_SQL = `CASE
	WHEN m.smtp_ts IS NOT NULL THEN
		CASE (SELECT e.event_type FROM message_events e WHERE e.message_pk = m.pk AND e.event_type IN ('sent', 'error') ORDER BY e.id DESC LIMIT 1)
			WHEN 'sent' THEN CASE WHEN EXISTS (SELECT 1 FROM message_events b WHERE b.message_pk = m.pk AND b.event_type = 'bounce' AND json_extract(b.metadata, '$.bounce_type') = 'hard') THEN 'bounced' ELSE 'sent' END
			ELSE 'error' END
	WHEN m.lease_owner IS NOT NULL AND m.lease_expires_ts > @now THEN 'sending'
	WHEN t.active = 0 OR t.suspended_batches = '*' OR (m.batch_code IS NOT NULL AND instr(',' || t.suspended_batches || ',', ',' || m.batch_code || ',') > 0) THEN 'suspended'
	WHEN m.deferred_ts > @now THEN 'deferred'
	ELSE 'pending' END`;

/** A message claimed for sending. */
export type ClaimedMessage = Pick<MessageRow, 'pk' | 'id' | 'tenant_id' | 'account_id' | 'priority' | 'payload' | 'batch_code' | 'retry_count' | 'is_pec' | 'created_at'>;

export type ListFilter = {
	tenantId: string;
	activeOnly?: boolean;
	status?: MessageStatus;
	accountId?: string;
	ids?: string[];
	limit?: number;
	offset?: number;
	now: number;
};

/** `messages`: the queue. */
export class MessagesTable {
	readonly #countPending: Database.Statement<[], {n: number}>;
	readonly #deleteByAccount: Database.Statement<[string, string]>;
	readonly #byTenantId: Database.Statement<[string, string], MessageRow>;
	readonly #insert: Database.Statement;
	readonly #upsert: Database.Statement<unknown[]>;
	readonly #markError: Database.Statement;
	readonly #deleteOne: Database.Statement<[string, string]>;
	readonly #pendingOfTenant: Database.Statement<[string], {n: number}>;
	readonly #pendingOfBatch: Database.Statement<[string, string], {n: number}>;
	readonly #cleanup: Database.Statement<{tenant: string | null; threshold: number}>;
	readonly #purgeUnreportable: Database.Statement<[number]>;
	readonly #promote: Database.Statement<[number]>;
	readonly #releaseAll: Database.Statement<[]>;
	readonly #ready: Database.Statement<[string, string, number, string, number, number]>;
	readonly #readyImmediate: Database.Statement<[string, string, number, string, number, number]>;
	readonly #claim: Database.Statement<[string, number, string, number], ClaimedMessage>;
	readonly #renew: Database.Statement<[number, string, string]>;
	readonly #release: Database.Statement<[string, string]>;
	readonly #sent: Database.Statement<[number, string, string]>;
	readonly #error: Database.Statement<[number, string, string]>;
	readonly #deferRetry: Database.Statement<[number, number, number, string, string]>;
	readonly #deferLimit: Database.Statement<[number, number, number, string, string]>;
	readonly #nextDue: Database.Statement<[], {ts: number | null}>;
	readonly #nextLease: Database.Statement<[], {ts: number | null}>;
	readonly #get: Database.Statement<[string], MessageRow>;
	readonly #pksWithId: Database.Statement<[string], {pk: string; tenant_id: string}>;
	readonly #clearPec: Database.Statement<[string]>;
	readonly #pecTimeouts: Database.Statement<[number], {pk: string; tenant_id: string; account_id: string | null}>;

	constructor(private readonly db: Database.Database) {
		this.#countPending = db.prepare('SELECT count(*) AS n FROM messages WHERE smtp_ts IS NULL');
		this.#deleteByAccount = db.prepare('DELETE FROM messages WHERE tenant_id = ? AND account_id = ?');
		this.#byTenantId = db.prepare('SELECT * FROM messages WHERE tenant_id = ? AND id = ?');
		this.#insert = db.prepare(`INSERT INTO messages (pk, id, tenant_id, account_id, priority, payload, batch_code, deferred_ts, smtp_ts, is_pec, waiting, created_at, updated_at)
			VALUES (@pk, @id, @tenant_id, @account_id, @priority, @payload, @batch_code, @deferred_ts, @smtp_ts, @is_pec, @waiting, @now, @now)`);
		// Insert, or replace an unprocessed namesake keeping its pk and created_at; a processed or in-flight
		// one is left alone and nothing is returned.
		// Positional parameters: binding is markedly cheaper than by name on this hot path.
		this.#upsert = db.prepare(`INSERT INTO messages (pk, id, tenant_id, account_id, priority, payload, batch_code, deferred_ts, smtp_ts, is_pec, waiting, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, id) DO UPDATE SET account_id = excluded.account_id, priority = excluded.priority, payload = excluded.payload,
				batch_code = excluded.batch_code, deferred_ts = excluded.deferred_ts, is_pec = excluded.is_pec, waiting = excluded.waiting, retry_count = 0,
				lease_owner = NULL, lease_expires_ts = NULL, updated_at = excluded.updated_at
			WHERE messages.smtp_ts IS NULL AND (messages.lease_owner IS NULL OR messages.lease_expires_ts <= ?)`);
		this.#markError = db.prepare(`UPDATE messages SET account_id = @account_id, priority = @priority, payload = @payload, batch_code = @batch_code,
			deferred_ts = NULL, waiting = 0, smtp_ts = @nowTs, lease_owner = NULL, lease_expires_ts = NULL, updated_at = @now WHERE pk = @pk AND smtp_ts IS NULL`);
		this.#deleteOne = db.prepare('DELETE FROM messages WHERE tenant_id = ? AND id = ?');
		this.#pendingOfTenant = db.prepare('SELECT count(*) AS n FROM messages WHERE tenant_id = ? AND smtp_ts IS NULL');
		this.#pendingOfBatch = db.prepare('SELECT count(*) AS n FROM messages WHERE tenant_id = ? AND batch_code = ? AND smtp_ts IS NULL');
		// Processed messages whose events are all acknowledged, the newest acknowledgement older than the threshold.
		this.#cleanup = db.prepare(`DELETE FROM messages WHERE pk IN (
			SELECT m.pk FROM messages m JOIN message_events e ON e.message_pk = m.pk
			WHERE m.smtp_ts IS NOT NULL AND (@tenant IS NULL OR m.tenant_id = @tenant)
			GROUP BY m.pk HAVING count(e.reported_ts) = count(*) AND max(e.reported_ts) < @threshold)`);
		// Tenants with no report target: nothing will ever acknowledge their events.
		this.#promote = db.prepare('UPDATE messages SET waiting = 0 WHERE waiting = 1 AND deferred_ts <= ?');
		this.#releaseAll = db.prepare('UPDATE messages SET lease_owner = NULL, lease_expires_ts = NULL WHERE lease_owner IS NOT NULL');
		const ready = `SELECT pk FROM messages
			WHERE smtp_ts IS NULL AND tenant_id = ? AND account_id = ? AND waiting = 0 %LANE%
				AND (lease_owner IS NULL OR lease_expires_ts <= ?)
				AND (batch_code IS NULL OR batch_code NOT IN (SELECT value FROM json_each(?)))
				AND (deferred_ts IS NULL OR deferred_ts <= ?)
			ORDER BY priority, created_at, pk LIMIT ?`;
		this.#ready = db.prepare(ready.replace('%LANE%', ''));
		this.#readyImmediate = db.prepare(ready.replace('%LANE%', 'AND priority = 0'));
		this.#claim = db.prepare(`UPDATE messages SET lease_owner = ?, lease_expires_ts = ?
			WHERE pk IN (SELECT value FROM json_each(?)) AND smtp_ts IS NULL AND (lease_owner IS NULL OR lease_expires_ts <= ?)
			RETURNING pk, id, tenant_id, account_id, priority, payload, batch_code, retry_count, is_pec, created_at`);
		this.#renew = db.prepare('UPDATE messages SET lease_expires_ts = ? WHERE pk IN (SELECT value FROM json_each(?)) AND lease_owner = ?');
		this.#release = db.prepare('UPDATE messages SET lease_owner = NULL, lease_expires_ts = NULL WHERE pk IN (SELECT value FROM json_each(?)) AND lease_owner = ?');
		const outcome = (set: string) => db.prepare(`UPDATE messages SET ${set}, lease_owner = NULL, lease_expires_ts = NULL, updated_at = strftime('%Y-%m-%dT%H:%M:%S', 'now')
			WHERE pk = ? AND smtp_ts IS NULL AND lease_owner = ?`);
		this.#sent = outcome('smtp_ts = ?, waiting = 0');
		this.#error = outcome('smtp_ts = ?, waiting = 0');
		this.#deferRetry = db.prepare(`UPDATE messages SET deferred_ts = ?, waiting = (? > ?), retry_count = retry_count + 1, lease_owner = NULL, lease_expires_ts = NULL,
			updated_at = strftime('%Y-%m-%dT%H:%M:%S', 'now') WHERE pk = ? AND smtp_ts IS NULL AND lease_owner = ?`);
		this.#deferLimit = db.prepare(`UPDATE messages SET deferred_ts = ?, waiting = (? > ?), lease_owner = NULL, lease_expires_ts = NULL,
			updated_at = strftime('%Y-%m-%dT%H:%M:%S', 'now') WHERE pk = ? AND smtp_ts IS NULL AND lease_owner = ?`);
		this.#nextDue = db.prepare('SELECT min(deferred_ts) AS ts FROM messages WHERE waiting = 1');
		this.#nextLease = db.prepare('SELECT min(lease_expires_ts) AS ts FROM messages WHERE lease_owner IS NOT NULL');
		this.#get = db.prepare('SELECT * FROM messages WHERE pk = ?');
		this.#pksWithId = db.prepare('SELECT pk, tenant_id FROM messages WHERE id = ?');
		this.#clearPec = db.prepare('UPDATE messages SET is_pec = 0 WHERE pk = ?');
		// Sent PEC messages that never got an acceptance receipt.
		this.#pecTimeouts = db.prepare(`SELECT m.pk, m.tenant_id, m.account_id FROM messages m
			WHERE m.is_pec = 1 AND m.smtp_ts IS NOT NULL AND m.smtp_ts <= ?
				AND EXISTS (SELECT 1 FROM message_events e WHERE e.message_pk = m.pk AND e.event_type = 'sent')
				AND NOT EXISTS (SELECT 1 FROM message_events e WHERE e.message_pk = m.pk AND e.event_type IN ('pec_acceptance', 'pec_timeout'))`);
		this.#purgeUnreportable = db.prepare(`DELETE FROM messages WHERE smtp_ts IS NOT NULL AND smtp_ts < ?
			AND tenant_id IN (SELECT id FROM tenants WHERE client_base_url IS NULL OR client_base_url = '')`);
	}

	/** Scheduled or retried messages whose time has come become ready (dispatch index). */
	promoteDue(now: number): number {
		return this.#promote.run(now).changes;
	}

	/**
	 * A worker that starts releases every lease left by earlier workers: the instance lock guarantees it
	 * is the only one using this database, so they can only belong to a crashed predecessor.
	 */
	releaseAllLeases(): number {
		return this.#releaseAll.run().changes;
	}

	/**
	 * Up to `limit` ready messages of one account by priority, then arrival; `suspended` lists the
	 * suspended batch codes (as JSON). `immediateOnly` restricts to the immediate lane.
	 */
	readyOf(tenantId: string, accountId: string, now: number, suspended: string[], limit: number, immediateOnly = false): string[] {
		const statement = immediateOnly ? this.#readyImmediate : this.#ready;
		return (statement.pluck().all(tenantId, accountId, now, JSON.stringify(suspended), now, limit) as string[]);
	}

	/** Claims free, unprocessed messages with a lease; returns only those actually claimed. */
	claim(pks: string[], owner: string, leaseUntil: number, now: number): ClaimedMessage[] {
		return this.#claim.all(owner, leaseUntil, JSON.stringify(pks), now);
	}

	renewLeases(pks: string[], owner: string, leaseUntil: number): void {
		this.#renew.run(leaseUntil, JSON.stringify(pks), owner);
	}

	/** Releases leases of claimed messages not started (shutdown). */
	releaseLeases(pks: string[], owner: string): void {
		this.#release.run(JSON.stringify(pks), owner);
	}

	/** Outcome writes apply only if the row still exists unprocessed (it may have been deleted meanwhile). */
	markSent(pk: string, now: number, owner: string): boolean {
		return this.#sent.run(now, pk, owner).changes > 0;
	}

	markFailed(pk: string, now: number, owner: string): boolean {
		return this.#error.run(now, pk, owner).changes > 0;
	}

	/** A temporary failure: retry at `until`, one more attempt counted. */
	deferRetry(pk: string, until: number, now: number, owner: string): boolean {
		return this.#deferRetry.run(until, until, now, pk, owner).changes > 0;
	}

	/** A rate-limit deferral: until the window boundary, no attempt counted. */
	deferForLimit(pk: string, until: number, now: number, owner: string): boolean {
		return this.#deferLimit.run(until, until, now, pk, owner).changes > 0;
	}

	/** The earliest time a waiting message becomes due, and the earliest lease expiry (timer wake-ups). */
	nextWake(): {due: number | null; lease: number | null} {
		return {due: this.#nextDue.get()!.ts, lease: this.#nextLease.get()!.ts};
	}

	get(pk: string): MessageRow | undefined {
		return this.#get.get(pk);
	}

	/** The messages with this client id, in any tenant. */
	withId(id: string): Array<{pk: string; tenant_id: string}> {
		return this.#pksWithId.all(id);
	}

	/** A PEC message that failed or timed out is treated as normal mail from then on. */
	clearPec(pk: string): void {
		this.#clearPec.run(pk);
	}

	/** Sent PEC messages without an acceptance receipt, sent at or before `sentBefore`. */
	pecTimeouts(sentBefore: number): Array<{pk: string; tenant_id: string; account_id: string | null}> {
		return this.#pecTimeouts.all(sentBefore);
	}

	countPending(): number {
		return this.#countPending.get()!.n;
	}

	pendingOf(tenantId: string, batchCode?: string): number {
		return batchCode === undefined ? this.#pendingOfTenant.get(tenantId)!.n : this.#pendingOfBatch.get(tenantId, batchCode)!.n;
	}

	/** Every message of one account (any state); their events go with them (cascade). */
	deleteByAccount(tenantId: string, accountId: string): number {
		return this.#deleteByAccount.run(tenantId, accountId).changes;
	}

	find(tenantId: string, id: string): MessageRow | undefined {
		return this.#byTenantId.get(tenantId, id);
	}

	insert(message: NewMessage): void {
		this.#insert.run(this.#params(message));
	}

	/**
	 * Stores an accepted message: new, or replacing an unprocessed one of the same id (keeping its pk and
	 * created_at, its place in the queue). False when the stored one is processed or being sent (it is
	 * left untouched).
	 */
	upsert(m: NewMessage): boolean {
		const waiting = m.deferred_ts !== null && m.deferred_ts > m.nowTs ? 1 : 0;
		return this.#upsert.run(m.pk, m.id, m.tenant_id, m.account_id, m.priority, m.payload, m.batch_code, m.deferred_ts, m.is_pec ? 1 : 0, waiting, m.now, m.now, m.nowTs).changes > 0;
	}

	/** Ends an unprocessed message in error (a rejected re-post). */
	markError(message: NewMessage): boolean {
		return this.#markError.run(this.#params(message)).changes > 0;
	}

	deleteOne(tenantId: string, id: string): boolean {
		return this.#deleteOne.run(tenantId, id).changes > 0;
	}

	cleanup(tenantId: string | null, threshold: number): number {
		return this.#cleanup.run({tenant: tenantId, threshold}).changes;
	}

	purgeUnreportable(before: number): number {
		return this.#purgeUnreportable.run(before).changes;
	}

	list(filter: ListFilter): ListedMessage[] {
		const where = ['m.tenant_id = @tenant'];
		if (filter.activeOnly) {
			where.push('m.smtp_ts IS NULL');
		}

		if (filter.accountId !== undefined) {
			where.push('m.account_id = @account');
		}

		if (filter.ids !== undefined) {
			where.push('m.id IN (SELECT value FROM json_each(@ids))');
		}

		let sql = `SELECT m.*, t.name AS tenant_name, ${STATUS_SQL} AS status FROM messages m JOIN tenants t ON t.id = m.tenant_id WHERE ${where.join(' AND ')}`;
		if (filter.status !== undefined) {
			sql = `SELECT * FROM (${sql}) WHERE status = @status`;
		}

		sql += ' ORDER BY priority, created_at, pk LIMIT @limit OFFSET @offset';
		return this.db.prepare(sql).all({
			tenant: filter.tenantId,
			account: filter.accountId ?? null,
			ids: JSON.stringify(filter.ids ?? []),
			status: filter.status ?? null,
			limit: filter.limit ?? -1,
			offset: filter.offset ?? 0,
			now: filter.now,
		}) as ListedMessage[];
	}

	/** Message counts by derived status, for one tenant or all. */
	statusCounts(tenantId: string | null, now: number): Record<MessageStatus, number> {
		const rows = this.db
			.prepare(`SELECT status, count(*) AS n FROM (SELECT ${STATUS_SQL} AS status FROM messages m JOIN tenants t ON t.id = m.tenant_id WHERE @tenant IS NULL OR m.tenant_id = @tenant) GROUP BY status`)
			.all({tenant: tenantId, now}) as Array<{status: MessageStatus; n: number}>;
		const counts = Object.fromEntries(STATUSES.map(status => [status, 0])) as Record<MessageStatus, number>;
		for (const row of rows) {
			counts[row.status] = row.n;
		}

		return counts;
	}

	#params(message: NewMessage): Record<string, unknown> {
		const params = message as unknown as Record<string, unknown>;
		params['is_pec'] = message.is_pec ? 1 : 0;
		params['waiting'] = message.smtp_ts === null && message.deferred_ts !== null && message.deferred_ts > message.nowTs ? 1 : 0;
		return params;
	}
}
