import Database from 'better-sqlite3';
import type {InstancePaths} from '../../source/shared/paths.js';

const TABLES = ['tenants', 'accounts', 'messages', 'message_events', 'send_log', 'command_log', 'instance', 'instance_config', 'large_files'];

/** Every row of every table, for asserting that a refused request changed nothing. */
export function snapshot(paths: InstancePaths): string {
	const db = new Database(paths.db, {readonly: true});
	try {
		return JSON.stringify(TABLES.map(table => db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all()));
	} finally {
		db.close();
	}
}

/** Run a read-only query against an instance database (tests assert storage only where it is the contract). */
export function query<T = Record<string, unknown>>(paths: InstancePaths, sql: string, ...params: unknown[]): T[] {
	const db = new Database(paths.db, {readonly: true});
	try {
		return db.prepare(sql).all(...params) as T[];
	} finally {
		db.close();
	}
}
