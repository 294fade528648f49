import type Database from 'better-sqlite3';

/** `messages`: the queue. */
export class MessagesTable {
	readonly #countPending: Database.Statement<[], {n: number}>;
	readonly #deleteByAccount: Database.Statement<[string, string]>;

	constructor(private readonly db: Database.Database) {
		this.#countPending = db.prepare('SELECT count(*) AS n FROM messages WHERE smtp_ts IS NULL');
		this.#deleteByAccount = db.prepare('DELETE FROM messages WHERE tenant_id = ? AND account_id = ?');
	}

	countPending(): number {
		return this.#countPending.get()!.n;
	}

	/** Every message of one account (any state); their events go with them (cascade). */
	deleteByAccount(tenantId: string, accountId: string): number {
		return this.#deleteByAccount.run(tenantId, accountId).changes;
	}
}
