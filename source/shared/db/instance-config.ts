import type Database from 'better-sqlite3';
import type {SecretBox} from '../crypto.js';

/** Key/value settings of the instance (`instance_config`). Secrets are encrypted here, never above. */
export class InstanceConfigTable {
	readonly #get: Database.Statement<[string], {value: string | null}>;
	readonly #set: Database.Statement<[string, string | null]>;
	readonly #delete: Database.Statement<[string]>;
	readonly #dataVersion: Database.Statement<[], number>;

	constructor(db: Database.Database, private readonly secrets: SecretBox | undefined) {
		this.#get = db.prepare('SELECT value FROM instance_config WHERE key = ?');
		this.#set = db.prepare('INSERT INTO instance_config (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
		this.#delete = db.prepare('DELETE FROM instance_config WHERE key = ?');
		this.#dataVersion = db.prepare('PRAGMA data_version').pluck() as Database.Statement<[], number>;
	}

	get(key: string): string | undefined {
		return this.#get.get(key)?.value ?? undefined;
	}

	/** Bumped by every write through this connection (which data_version does not see). */
	generation = 0;

	set(key: string, value: string | null | undefined): void {
		this.generation++;
		if (value === null || value === undefined) {
			this.#delete.run(key);
		} else {
			this.#set.run(key, value);
		}
	}

	getSecret(key: string): string | undefined {
		const stored = this.get(key);
		return stored === undefined ? undefined : this.#box().decrypt(stored, `instance_config.${key}`);
	}

	setSecret(key: string, value: string): void {
		this.set(key, this.#box().encrypt(value, `instance_config.${key}`));
	}

	/** Changes whenever another connection (the CLI) commits to this database. */
	dataVersion(): number {
		return this.#dataVersion.get()!;
	}

	/** The stored (encrypted) form, for cheap change detection without decrypting. */
	getRaw(key: string): string | undefined {
		return this.get(key);
	}

	#box(): SecretBox {
		if (!this.secrets) {
			throw new Error('this store was opened without the encryption key');
		}

		return this.secrets;
	}
}
