import type Database from 'better-sqlite3';
import {loadKey, SecretBox} from '../crypto.js';
import {systemClock, type Clock} from '../clock.js';
import {failure} from '../errors.js';
import type {InstancePaths} from '../paths.js';
import {openDatabase, type OpenOptions} from './connection.js';
import {InstanceConfigTable} from './instance-config.js';
import {InstanceTable} from './instance.js';
import {TenantsTable} from './tenants.js';
import {MessagesTable} from './messages.js';
import {AccountsTable} from './accounts.js';
import {CommandLogTable} from './command-log.js';
import {SendLogTable} from './send-log.js';
import {LargeFilesTable} from './large-files.js';
import {EventsTable} from './events.js';
import {GroupCommit} from './group-commit.js';

/**
 * The instance store: one database connection and one module per table. Table modules prepare their
 * statements once, on first use, so short CLI commands only pay for what they touch.
 */
export class Store {
	readonly #tables = new Map<string, unknown>();
	#groupCommit: GroupCommit | undefined;

	constructor(
		readonly db: Database.Database,
		readonly secrets: SecretBox | undefined,
		readonly clock: Clock = systemClock,
	) {}

	get config(): InstanceConfigTable {
		return this.table('config', () => new InstanceConfigTable(this.db, this.secrets));
	}

	get instance(): InstanceTable {
		return this.table('instance', () => new InstanceTable(this.db, this.secrets));
	}

	get tenants(): TenantsTable {
		return this.table('tenants', () => new TenantsTable(this.db, this.secrets));
	}

	get messages(): MessagesTable {
		return this.table('messages', () => new MessagesTable(this.db));
	}

	get accounts(): AccountsTable {
		return this.table('accounts', () => new AccountsTable(this.db, this.secrets));
	}

	get commandLog(): CommandLogTable {
		return this.table('commandLog', () => new CommandLogTable(this.db));
	}

	get sendLog(): SendLogTable {
		return this.table('sendLog', () => new SendLogTable(this.db));
	}

	get largeFiles(): LargeFilesTable {
		return this.table('largeFiles', () => new LargeFilesTable(this.db));
	}

	get events(): EventsTable {
		return this.table('events', () => new EventsTable(this.db));
	}

	/**
	 * Runs `fn` in one write transaction (BEGIN IMMEDIATE). Inside an open transaction (a group-commit
	 * job, which has its own savepoint) it simply runs.
	 */
	transaction<T>(fn: () => T): T {
		return this.db.inTransaction ? fn() : this.db.transaction(fn).immediate();
	}

	/** The daemon turns on group commit; without it (the CLI) `write` commits each call on its own. */
	enableGroupCommit(): GroupCommit {
		this.#groupCommit ??= new GroupCommit(this.db);
		return this.#groupCommit;
	}

	/**
	 * A durable write: resolves once committed and on disk (shared with concurrent writes when group
	 * commit is on). `weight` is roughly how many rows it writes.
	 */
	async write<T>(fn: () => T, weight = 1): Promise<T> {
		return this.#groupCommit ? this.#groupCommit.run(fn, weight) : this.transaction(fn);
	}

	/** Waits until every acknowledged write is on disk, then closes. */
	async closeDurably(): Promise<void> {
		await this.#groupCommit?.drain();
		this.#groupCommit?.close();
		this.close();
	}

	close(): void {
		if (this.db.open) {
			this.db.close();
		}
	}

	protected table<T>(name: string, make: () => T): T {
		let table = this.#tables.get(name) as T | undefined;
		if (table === undefined) {
			table = make();
			this.#tables.set(name, table);
		}

		return table;
	}
}

export type StoreOptions = OpenOptions & {env?: NodeJS.ProcessEnv; clock?: Clock; withKey?: boolean; dbPath?: string};

/** Opens an existing instance's store, verifying the encryption key when the key is needed. */
export function openStore(paths: InstancePaths, options: StoreOptions = {}): Store {
	const env = options.env ?? process.env;
	const db = openDatabase(options.dbPath ?? paths.db, options);
	let secrets: SecretBox | undefined;
	if (options.withKey ?? true) {
		try {
			secrets = new SecretBox(loadKey(paths.key, env));
			const check = db.prepare<[], {value: string}>("SELECT value FROM instance_config WHERE key = 'encryption_check'").get();
			if (check && !secrets.verifyCheck(check.value)) {
				throw failure('the encryption key does not match this instance (MAIL_PROXY_ENCRYPTION_KEY or encryption.key changed)');
			}
		} catch (error) {
			db.close();
			throw error;
		}
	}

	return new Store(db, secrets, options.clock ?? systemClock);
}
