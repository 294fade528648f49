import Database from 'better-sqlite3';
import type {InstancePaths} from '../paths.js';

/** A quick read-only look at an instance's database (no key, no migration): stored address and counts. */
export function peekInstance(paths: InstancePaths): {host?: string; port?: number; pending?: number} {
	let db: Database.Database | undefined;
	try {
		db = new Database(paths.db, {readonly: true, fileMustExist: true});
		db.pragma('busy_timeout = 2000');
		const get = (key: string) => db!.prepare<[string], {value: string}>('SELECT value FROM instance_config WHERE key = ?').get(key)?.value;
		const port = get('port');
		let pending: number | undefined;
		try {
			pending = db.prepare<[], {n: number}>('SELECT count(*) AS n FROM messages WHERE smtp_ts IS NULL').get()!.n;
		} catch {}

		return {host: get('host'), port: port === undefined ? undefined : Number(port), pending};
	} catch {
		return {};
	} finally {
		db?.close();
	}
}

