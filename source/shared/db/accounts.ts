import type Database from 'better-sqlite3';
import type {SecretBox} from '../crypto.js';

export type Account = {
	tenant_id: string;
	id: string;
	host: string;
	port: number;
	user: string | null;
	password: string | null;
	ttl: number;
	limit_per_minute: number | null;
	limit_per_hour: number | null;
	limit_per_day: number | null;
	limit_behavior: 'defer' | 'reject';
	use_tls: boolean | null;
	tls_mode: 'ssl' | 'starttls' | 'none' | null;
	batch_size: number | null;
	is_pec_account: boolean;
	imap_host: string | null;
	imap_port: number;
	imap_user: string | null;
	imap_password: string | null;
	imap_ssl: boolean;
	imap_folder: string;
	imap_last_uid: number | null;
	imap_uidvalidity: number | null;
	imap_last_sync: string | null;
	created_at: string;
	updated_at: string;
};

export type AccountInput = Omit<Account, 'imap_last_uid' | 'imap_uidvalidity' | 'imap_last_sync' | 'created_at' | 'updated_at'>;

type Row = Omit<Account, 'use_tls' | 'is_pec_account' | 'imap_ssl'> & {use_tls: number | null; is_pec_account: number; imap_ssl: number};

const COLUMNS = [
	'host', 'port', 'user', 'password', 'ttl', 'limit_per_minute', 'limit_per_hour', 'limit_per_day', 'limit_behavior', 'use_tls', 'tls_mode', 'batch_size',
	'is_pec_account', 'imap_host', 'imap_port', 'imap_user', 'imap_password', 'imap_ssl', 'imap_folder',
] as const;

/** `accounts`: SMTP accounts, keyed by (tenant_id, id). Passwords are encrypted here. */
export class AccountsTable {
	readonly #get: Database.Statement<[string, string], Row>;
	readonly #flags: Database.Statement<[string, string], {is_pec_account: number}>;
	readonly #dispatchList: Database.Statement<[], {tenant_id: string; id: string; batch_size: number | null}>;
	readonly #list: Database.Statement<[string], Row>;
	readonly #all: Database.Statement<[], Row>;
	readonly #upsert: Database.Statement;
	readonly #delete: Database.Statement<[string, string]>;
	readonly #count: Database.Statement<[string], {n: number}>;
	readonly #setImapState: Database.Statement<[number | null, number | null, string | null, string, string]>;

	constructor(private readonly db: Database.Database, private readonly secrets: SecretBox | undefined) {
		this.#get = db.prepare('SELECT * FROM accounts WHERE tenant_id = ? AND id = ?');
		this.#flags = db.prepare('SELECT is_pec_account FROM accounts WHERE tenant_id = ? AND id = ?');
		this.#dispatchList = db.prepare('SELECT tenant_id, id, batch_size FROM accounts ORDER BY tenant_id, id');
		this.#list = db.prepare('SELECT * FROM accounts WHERE tenant_id = ? ORDER BY id');
		this.#all = db.prepare('SELECT * FROM accounts ORDER BY tenant_id, id');
		this.#upsert = db.prepare(`
			INSERT INTO accounts (tenant_id, id, ${COLUMNS.join(', ')}, created_at, updated_at)
			VALUES (@tenant_id, @id, ${COLUMNS.map(c => `@${c}`).join(', ')}, @now, @now)
			ON CONFLICT (tenant_id, id) DO UPDATE SET ${COLUMNS.map(c => `${c} = excluded.${c}`).join(', ')}, updated_at = excluded.updated_at`);
		this.#delete = db.prepare('DELETE FROM accounts WHERE tenant_id = ? AND id = ?');
		this.#count = db.prepare('SELECT count(*) AS n FROM accounts WHERE tenant_id = ?');
		this.#setImapState = db.prepare('UPDATE accounts SET imap_last_uid = ?, imap_uidvalidity = ?, imap_last_sync = ? WHERE tenant_id = ? AND id = ?');
	}

	get(tenantId: string, id: string): Account | undefined {
		const row = this.#get.get(tenantId, id);
		return row && this.#decode(row);
	}

	/** Whether the account exists and is a PEC account, without reading (decrypting) its credentials. */
	flags(tenantId: string, id: string): {pec: boolean} | undefined {
		const row = this.#flags.get(tenantId, id);
		return row && {pec: row.is_pec_account === 1};
	}

	/** Every account, just what a dispatch cycle needs (no credentials read). */
	dispatchList(): Array<{tenant_id: string; id: string; batch_size: number | null}> {
		return this.#dispatchList.all();
	}

	list(tenantId: string): Account[] {
		return this.#list.all(tenantId).map(row => this.#decode(row));
	}

	all(): Account[] {
		return this.#all.all().map(row => this.#decode(row));
	}

	count(tenantId: string): number {
		return this.#count.get(tenantId)!.n;
	}

	upsert(account: AccountInput, now: string): void {
		const box = this.secrets;
		if (!box && (account.password || account.imap_password)) {
			throw new Error('this store was opened without the encryption key');
		}

		this.#upsert.run({
			...account,
			use_tls: account.use_tls === null ? null : account.use_tls ? 1 : 0,
			is_pec_account: account.is_pec_account ? 1 : 0,
			imap_ssl: account.imap_ssl ? 1 : 0,
			password: account.password ? box!.encrypt(account.password, 'accounts.password') : null,
			imap_password: account.imap_password ? box!.encrypt(account.imap_password, 'accounts.imap_password') : null,
			now,
		});
	}

	delete(tenantId: string, id: string): boolean {
		return this.#delete.run(tenantId, id).changes > 0;
	}

	setImapState(tenantId: string, id: string, state: {lastUid: number | null; uidValidity: number | null; lastSync: string | null}): void {
		this.#setImapState.run(state.lastUid, state.uidValidity, state.lastSync, tenantId, id);
	}

	#decode(row: Row): Account {
		const box = this.secrets;
		return {
			...row,
			use_tls: row.use_tls === null ? null : row.use_tls === 1,
			is_pec_account: row.is_pec_account === 1,
			imap_ssl: row.imap_ssl === 1,
			password: row.password && box ? box.decrypt(row.password, 'accounts.password') : null,
			imap_password: row.imap_password && box ? box.decrypt(row.imap_password, 'accounts.imap_password') : null,
		};
	}
}
