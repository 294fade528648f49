import type Database from 'better-sqlite3';

/** `send_log`: one row per successful send, counted by the rate limiter (fixed UTC windows). */
export class SendLogTable {
	readonly #insert: Database.Statement<[string, string, number]>;
	readonly #countAccount: Database.Statement<[string, string, number], {n: number}>;
	readonly #countTenant: Database.Statement<[string, number], {n: number}>;
	readonly #deleteTenant: Database.Statement<[string]>;
	readonly #deleteAccount: Database.Statement<[string, string]>;
	readonly #prune: Database.Statement<[number]>;

	constructor(db: Database.Database) {
		this.#insert = db.prepare('INSERT INTO send_log (tenant_id, account_id, ts) VALUES (?, ?, ?)');
		this.#countAccount = db.prepare('SELECT count(*) AS n FROM send_log WHERE tenant_id = ? AND account_id = ? AND ts >= ?');
		this.#countTenant = db.prepare('SELECT count(*) AS n FROM send_log WHERE tenant_id = ? AND ts >= ?');
		this.#deleteTenant = db.prepare('DELETE FROM send_log WHERE tenant_id = ?');
		this.#deleteAccount = db.prepare('DELETE FROM send_log WHERE tenant_id = ? AND account_id = ?');
		this.#prune = db.prepare('DELETE FROM send_log WHERE ts < ?');
	}

	insert(tenantId: string, accountId: string, ts: number): void {
		this.#insert.run(tenantId, accountId, ts);
	}

	countAccountSince(tenantId: string, accountId: string, since: number): number {
		return this.#countAccount.get(tenantId, accountId, since)!.n;
	}

	countTenantSince(tenantId: string, since: number): number {
		return this.#countTenant.get(tenantId, since)!.n;
	}

	deleteTenant(tenantId: string): void {
		this.#deleteTenant.run(tenantId);
	}

	deleteAccount(tenantId: string, accountId: string): void {
		this.#deleteAccount.run(tenantId, accountId);
	}

	pruneBefore(ts: number): number {
		return this.#prune.run(ts).changes;
	}
}
