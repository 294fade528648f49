import type Database from 'better-sqlite3';
import type {SecretBox} from '../crypto.js';
import type {LargeFileConfig, RateLimits, TenantAuth} from '../schemas/tenant.js';

export type TenantConfig = {
	name: string | null;
	client_base_url: string | null;
	client_sync_path: string | null;
	client_attachment_path: string | null;
	client_auth: TenantAuth | null;
	client_signing_secret: string | null;
	rate_limits: RateLimits | null;
	large_file_config: LargeFileConfig | null;
	active: boolean;
};

export type SyncState = {
	sync_last_ts: number | null;
	sync_dnd_until: number | null;
	sync_retry_ts: number | null;
	sync_failures: number;
	sync_force: boolean;
	sync_accelerated: boolean;
};

export type Tenant = TenantConfig &
	SyncState & {
		id: string;
		suspended_batches: string | null;
		api_key_hash: string | null;
		api_key_expires_at: number | null;
		created_at: string;
		updated_at: string;
	};

type Row = Omit<Tenant, 'client_auth' | 'rate_limits' | 'large_file_config' | 'active' | 'sync_force' | 'sync_accelerated'> & {
	client_auth: string | null;
	rate_limits: string | null;
	large_file_config: string | null;
	active: number;
	sync_force: number;
	sync_accelerated: number;
};

export type TenantKeyRow = {id: string; api_key_expires_at: number | null};

const CONFIG_COLUMNS = ['name', 'client_base_url', 'client_sync_path', 'client_attachment_path', 'client_auth', 'client_signing_secret', 'rate_limits', 'large_file_config', 'active'] as const;

/** `tenants`: configuration, API key hash, suspension and reporter state of each tenant. */
export class TenantsTable {
	readonly #byKey: Database.Statement<[string], TenantKeyRow>;
	readonly #get: Database.Statement<[string], Row>;
	readonly #list: Database.Statement<[], Row>;
	readonly #listActive: Database.Statement<[], Row>;
	readonly #insert: Database.Statement;
	readonly #replace: Database.Statement;
	readonly #delete: Database.Statement<[string]>;
	readonly #setKey: Database.Statement<[string | null, string, string]>;
	readonly #setSuspended: Database.Statement<[string | null, string, string]>;
	readonly #exists: Database.Statement<[string], {id: string}>;
	readonly #clearBackoff: Database.Statement<[]>;
	readonly #syncSucceeded: Database.Statement<[number, number | null, number, string]>;
	readonly #syncFailed: Database.Statement<[number, number, string]>;
	readonly #forceSync: Database.Statement<[string]>;

	constructor(private readonly db: Database.Database, private readonly secrets: SecretBox | undefined) {
		this.#byKey = db.prepare('SELECT id, api_key_expires_at FROM tenants WHERE api_key_hash = ?');
		this.#get = db.prepare('SELECT * FROM tenants WHERE id = ?');
		this.#list = db.prepare('SELECT * FROM tenants ORDER BY id');
		this.#listActive = db.prepare('SELECT * FROM tenants WHERE active = 1 ORDER BY id');
		const columns = CONFIG_COLUMNS.join(', ');
		const values = CONFIG_COLUMNS.map(c => `@${c}`).join(', ');
		this.#insert = db.prepare(`INSERT INTO tenants (id, ${columns}, api_key_hash, created_at, updated_at) VALUES (@id, ${values}, @api_key_hash, @now, @now)`);
		this.#replace = db.prepare(`UPDATE tenants SET ${CONFIG_COLUMNS.map(c => `${c} = @${c}`).join(', ')}, updated_at = @now WHERE id = @id`);
		this.#delete = db.prepare('DELETE FROM tenants WHERE id = ?');
		this.#setKey = db.prepare('UPDATE tenants SET api_key_hash = ?, api_key_expires_at = NULL, updated_at = ? WHERE id = ?');
		this.#setSuspended = db.prepare('UPDATE tenants SET suspended_batches = ?, updated_at = ? WHERE id = ?');
		this.#exists = db.prepare('SELECT id FROM tenants WHERE id = ?');
		this.#clearBackoff = db.prepare('UPDATE tenants SET sync_retry_ts = NULL WHERE sync_retry_ts IS NOT NULL');
		this.#syncSucceeded = db.prepare(`UPDATE tenants SET sync_last_ts = ?, sync_dnd_until = ?, sync_accelerated = ?, sync_failures = 0, sync_retry_ts = NULL,
			sync_force = 0 WHERE id = ?`);
		this.#syncFailed = db.prepare('UPDATE tenants SET sync_failures = ?, sync_retry_ts = ? WHERE id = ?');
		this.#forceSync = db.prepare('UPDATE tenants SET sync_retry_ts = NULL, sync_dnd_until = NULL, sync_force = 1 WHERE id = ?');
	}

	findByApiKeyHash(hash: string): TenantKeyRow | undefined {
		return this.#byKey.get(hash);
	}

	exists(id: string): boolean {
		return this.#exists.get(id) !== undefined;
	}

	get(id: string): Tenant | undefined {
		const row = this.#get.get(id);
		return row && this.#decode(row);
	}

	list(activeOnly = false): Tenant[] {
		return (activeOnly ? this.#listActive : this.#list).all().map(row => this.#decode(row));
	}

	insert(id: string, config: TenantConfig, apiKeyHash: string | null, now: string): void {
		this.#insert.run({id, ...this.#encode(config), api_key_hash: apiKeyHash, now});
	}

	/** Replaces every configuration field; key, suspension, sync state and created_at are kept. */
	replaceConfig(id: string, config: TenantConfig, now: string): void {
		this.#replace.run({id, ...this.#encode(config), now});
	}

	delete(id: string): boolean {
		return this.#delete.run(id).changes > 0;
	}

	setApiKeyHash(id: string, hash: string | null, now: string): boolean {
		return this.#setKey.run(hash, now, id).changes > 0;
	}

	setSuspendedBatches(id: string, value: string | null, now: string): void {
		this.#setSuspended.run(value, now, id);
	}

	/** A report POST was acknowledged (2xx): backoff and forcing cleared, do-not-disturb as the client asked. */
	syncSucceeded(id: string, state: {at: number; dndUntil: number | null; accelerated: boolean}): void {
		this.#syncSucceeded.run(state.at, state.dndUntil, state.accelerated ? 1 : 0, id);
	}

	/** A report POST failed: one more consecutive failure, next attempt not before `retryAt`. */
	syncFailed(id: string, failures: number, retryAt: number): void {
		this.#syncFailed.run(failures, retryAt, id);
	}

	/** run-now: every tenant may be reported to at once. */
	clearBackoff(): void {
		this.#clearBackoff.run();
	}

	/** run-now for one tenant: no backoff, no do-not-disturb, one sync POST in the next cycle. */
	forceSync(id: string): void {
		this.#forceSync.run(id);
	}

	#encode(config: TenantConfig): Record<string, unknown> {
		const box = this.secrets;
		if (!box && (config.client_auth || config.client_signing_secret)) {
			throw new Error('this store was opened without the encryption key');
		}

		return {
			name: config.name,
			client_base_url: config.client_base_url,
			client_sync_path: config.client_sync_path,
			client_attachment_path: config.client_attachment_path,
			client_auth: config.client_auth ? box!.encrypt(JSON.stringify(config.client_auth), 'tenants.client_auth') : null,
			client_signing_secret: config.client_signing_secret ? box!.encrypt(config.client_signing_secret, 'tenants.client_signing_secret') : null,
			rate_limits: config.rate_limits ? JSON.stringify(config.rate_limits) : null,
			large_file_config: config.large_file_config ? JSON.stringify(config.large_file_config) : null,
			active: config.active ? 1 : 0,
		};
	}

	#decode(row: Row): Tenant {
		const box = this.secrets;
		return {
			...row,
			client_auth: row.client_auth && box ? (JSON.parse(box.decrypt(row.client_auth, 'tenants.client_auth')) as TenantAuth) : null,
			client_signing_secret: row.client_signing_secret && box ? box.decrypt(row.client_signing_secret, 'tenants.client_signing_secret') : null,
			rate_limits: row.rate_limits ? (JSON.parse(row.rate_limits) as RateLimits) : null,
			large_file_config: row.large_file_config ? (JSON.parse(row.large_file_config) as LargeFileConfig) : null,
			active: row.active === 1,
			sync_force: row.sync_force === 1,
			sync_accelerated: row.sync_accelerated === 1,
		};
	}
}
