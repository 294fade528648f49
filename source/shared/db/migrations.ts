import type Database from 'better-sqlite3';

export type Migration = {version: number; name: string; up: (db: Database.Database) => void};

/**
 * Forward-only migrations, applied in order at open inside one transaction. The version lives in
 * `instance_config.schema_version`. Never edit a released migration: append a new one.
 */
export const migrations: Migration[] = [
	{
		version: 1,
		name: 'initial schema',
		up(db) {
			db.exec(`
				CREATE TABLE tenants (
					id TEXT PRIMARY KEY,
					name TEXT,
					client_base_url TEXT,
					client_sync_path TEXT,
					client_attachment_path TEXT,
					client_auth TEXT,
					client_signing_secret TEXT,
					rate_limits TEXT,
					large_file_config TEXT,
					active INTEGER NOT NULL DEFAULT 1,
					suspended_batches TEXT,
					api_key_hash TEXT UNIQUE,
					api_key_expires_at INTEGER,
					sync_last_ts REAL,
					sync_dnd_until REAL,
					sync_retry_ts REAL,
					sync_failures INTEGER NOT NULL DEFAULT 0,
					sync_force INTEGER NOT NULL DEFAULT 0,
					sync_accelerated INTEGER NOT NULL DEFAULT 0,
					created_at TEXT NOT NULL,
					updated_at TEXT NOT NULL
				);

				CREATE TABLE accounts (
					tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
					id TEXT NOT NULL,
					host TEXT NOT NULL,
					port INTEGER NOT NULL,
					user TEXT,
					password TEXT,
					ttl INTEGER NOT NULL DEFAULT 300,
					limit_per_minute INTEGER,
					limit_per_hour INTEGER,
					limit_per_day INTEGER,
					limit_behavior TEXT NOT NULL DEFAULT 'defer',
					use_tls INTEGER,
					tls_mode TEXT,
					batch_size INTEGER,
					is_pec_account INTEGER NOT NULL DEFAULT 0,
					imap_host TEXT,
					imap_port INTEGER NOT NULL DEFAULT 993,
					imap_user TEXT,
					imap_password TEXT,
					imap_ssl INTEGER NOT NULL DEFAULT 1,
					imap_folder TEXT NOT NULL DEFAULT 'INBOX',
					imap_last_uid INTEGER,
					imap_uidvalidity INTEGER,
					imap_last_sync TEXT,
					created_at TEXT NOT NULL,
					updated_at TEXT NOT NULL,
					PRIMARY KEY (tenant_id, id)
				);

				-- waiting = 1 while deferred_ts is in the future: keeps scheduled and retried messages out of
				-- the dispatch index walk; promoted to 0 once due (deferred_ts itself is kept as stored).
				CREATE TABLE messages (
					pk TEXT PRIMARY KEY,
					id TEXT NOT NULL,
					tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
					account_id TEXT,
					priority INTEGER NOT NULL,
					payload TEXT NOT NULL,
					batch_code TEXT,
					deferred_ts INTEGER,
					smtp_ts INTEGER,
					retry_count INTEGER NOT NULL DEFAULT 0,
					is_pec INTEGER NOT NULL DEFAULT 0,
					lease_owner TEXT,
					lease_expires_ts INTEGER,
					waiting INTEGER NOT NULL DEFAULT 0,
					created_at TEXT NOT NULL,
					updated_at TEXT NOT NULL,
					UNIQUE (tenant_id, id)
				);
				-- One index serves the unprocessed queue (prefix smtp_ts IS NULL: counts and listings never scan
				-- sent messages) and dispatch (ready messages of one account by priority, then arrival).
				CREATE INDEX messages_queue ON messages (smtp_ts, tenant_id, account_id, waiting, priority, created_at, pk);
				CREATE INDEX messages_waiting ON messages (deferred_ts) WHERE waiting = 1;
				CREATE INDEX messages_leased ON messages (lease_expires_ts) WHERE lease_owner IS NOT NULL;

				CREATE TABLE message_events (
					id INTEGER PRIMARY KEY AUTOINCREMENT,
					message_pk TEXT NOT NULL REFERENCES messages(pk) ON DELETE CASCADE,
					tenant_id TEXT NOT NULL,
					event_type TEXT NOT NULL,
					event_ts INTEGER NOT NULL,
					description TEXT,
					metadata TEXT,
					reported_ts INTEGER
				);
				CREATE INDEX message_events_report ON message_events (tenant_id, reported_ts, id);
				CREATE INDEX message_events_message ON message_events (message_pk, id);

				CREATE TABLE send_log (
					tenant_id TEXT NOT NULL,
					account_id TEXT NOT NULL,
					ts INTEGER NOT NULL
				);
				CREATE INDEX send_log_window ON send_log (tenant_id, account_id, ts);
				CREATE INDEX send_log_ts ON send_log (ts);

				-- Plain rowid ids (no AUTOINCREMENT, which rewrites sqlite_sequence on every insert): the log is only
				-- pruned from its old end, so ids are never reused in practice.
				CREATE TABLE command_log (
					id INTEGER PRIMARY KEY,
					command_ts INTEGER NOT NULL,
					endpoint TEXT NOT NULL,
					tenant_id TEXT,
					payload TEXT,
					response_status INTEGER NOT NULL,
					response_body TEXT
				);
				CREATE INDEX command_log_ts ON command_log (command_ts, id);

				CREATE TABLE instance (
					id INTEGER PRIMARY KEY CHECK (id = 1),
					name TEXT NOT NULL DEFAULT 'mail-proxy',
					bounce_enabled INTEGER NOT NULL DEFAULT 0,
					bounce_imap_host TEXT,
					bounce_imap_port INTEGER NOT NULL DEFAULT 993,
					bounce_imap_user TEXT,
					bounce_imap_password TEXT,
					bounce_imap_folder TEXT NOT NULL DEFAULT 'INBOX',
					bounce_imap_ssl INTEGER NOT NULL DEFAULT 1,
					bounce_poll_interval INTEGER NOT NULL DEFAULT 60,
					bounce_return_path TEXT,
					bounce_last_uid INTEGER,
					bounce_uidvalidity INTEGER,
					bounce_last_sync TEXT,
					retry_delays TEXT NOT NULL DEFAULT '[60,300,900,3600,7200]',
					max_retries INTEGER NOT NULL DEFAULT 5,
					created_at TEXT NOT NULL,
					updated_at TEXT NOT NULL
				);

				CREATE TABLE large_files (
					file_id TEXT PRIMARY KEY,
					tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
					message_pk TEXT,
					filename TEXT NOT NULL,
					mime_type TEXT,
					size INTEGER NOT NULL,
					path TEXT NOT NULL,
					created_ts INTEGER NOT NULL,
					expires_ts INTEGER NOT NULL,
					first_download_ts INTEGER,
					lifespan_days INTEGER
				);
				CREATE INDEX large_files_tenant ON large_files (tenant_id);
			`);
		},
	},
];

export const latestVersion = migrations.at(-1)!.version;

/** Creates the version table if needed and applies every pending migration in one transaction. */
export function migrate(db: Database.Database, list: Migration[] = migrations): number {
	db.exec('CREATE TABLE IF NOT EXISTS instance_config (key TEXT PRIMARY KEY, value TEXT)');
	const read = db.prepare<[], {value: string}>("SELECT value FROM instance_config WHERE key = 'schema_version'");
	const current = Number(read.get()?.value ?? 0);
	const pending = list.filter(m => m.version > current).sort((a, b) => a.version - b.version);
	if (pending.length === 0) {
		return current;
	}

	const apply = db.transaction(() => {
		// Re-read inside the write transaction: another process may have migrated meanwhile.
		const now = Number(read.get()?.value ?? 0);
		let version = now;
		for (const migration of pending) {
			if (migration.version <= now) {
				continue;
			}

			migration.up(db);
			version = migration.version;
		}

		db.prepare("INSERT INTO instance_config (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
			.run(String(version));
		return version;
	});
	return apply.immediate();
}
