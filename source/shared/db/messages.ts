import type Database from 'better-sqlite3';

/** `messages`: the queue. */
export class MessagesTable {
	readonly #countPending: Database.Statement<[], {n: number}>;

	constructor(private readonly db: Database.Database) {
		this.#countPending = db.prepare('SELECT count(*) AS n FROM messages WHERE smtp_ts IS NULL');
	}

	countPending(): number {
		return this.#countPending.get()!.n;
	}
}
