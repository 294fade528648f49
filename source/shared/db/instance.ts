import type Database from 'better-sqlite3';
import type {SecretBox} from '../crypto.js';
import {isoNow} from '../clock.js';

/** The singleton `instance` row (id = 1): bounce mailbox and retry settings. */
export class InstanceTable {
	readonly #ensure: Database.Statement<[string, string]>;

	constructor(private readonly db: Database.Database, private readonly secrets: SecretBox | undefined) {
		this.#ensure = db.prepare('INSERT OR IGNORE INTO instance (id, created_at, updated_at) VALUES (1, ?, ?)');
	}

	ensureRow(): void {
		const now = isoNow();
		this.#ensure.run(now, now);
	}
}
