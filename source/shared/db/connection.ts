import fs from 'node:fs';
import Database from 'better-sqlite3';
import {migrate} from './migrations.js';

export type OpenOptions = {
	/** Run migrations (the daemon and any CLI write path do; read-only listings skip it). */
	migrate?: boolean;
	/** The daemon checkpoints the WAL off the request path; other connections keep SQLite's default. */
	autoCheckpoint?: boolean;
	readonly?: boolean;
};

/**
 * Opens an instance database with the engine's pragmas: WAL, synchronous=FULL (a 2xx means the data is
 * on disk), foreign keys, 5 s busy timeout. Files are created 0600.
 */
export function openDatabase(file: string, options: OpenOptions = {}): Database.Database {
	const existed = file === ':memory:' || fs.existsSync(file);
	const db = new Database(file, {readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false});
	if (!existed) {
		fs.chmodSync(file, 0o600);
	}

	db.pragma('busy_timeout = 5000');
	if (!options.readonly) {
		db.pragma('journal_mode = WAL');
	}

	db.pragma('synchronous = FULL');
	db.pragma('foreign_keys = ON');
	if (options.autoCheckpoint === false) {
		db.pragma('wal_autocheckpoint = 0');
	}

	if (options.migrate ?? !options.readonly) {
		migrate(db);
	}

	return db;
}
