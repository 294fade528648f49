import type Database from 'better-sqlite3';
import type {SecretBox} from '../crypto.js';

export type TenantKeyRow = {id: string; api_key_expires_at: number | null};

/** `tenants`: configuration, API key hash, suspension and reporter state of each tenant. */
export class TenantsTable {
	readonly #byKey: Database.Statement<[string], TenantKeyRow>;

	constructor(private readonly db: Database.Database, private readonly secrets: SecretBox | undefined) {
		this.#byKey = db.prepare('SELECT id, api_key_expires_at FROM tenants WHERE api_key_hash = ?');
	}

	findByApiKeyHash(hash: string): TenantKeyRow | undefined {
		return this.#byKey.get(hash);
	}
}
