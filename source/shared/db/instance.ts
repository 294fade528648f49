import type Database from 'better-sqlite3';
import type {SecretBox} from '../crypto.js';
import {isoNow} from '../clock.js';

export type InstanceSettings = {
	id: 1;
	name: string;
	bounce_enabled: boolean;
	bounce_imap_host: string | null;
	bounce_imap_port: number;
	bounce_imap_user: string | null;
	bounce_imap_password: string | null;
	bounce_imap_folder: string;
	bounce_imap_ssl: boolean;
	bounce_poll_interval: number;
	bounce_return_path: string | null;
	bounce_last_uid: number | null;
	bounce_uidvalidity: number | null;
	bounce_last_sync: string | null;
	retry_delays: number[];
	max_retries: number;
	created_at: string;
	updated_at: string;
};

export type InstanceChanges = Partial<Omit<InstanceSettings, 'id' | 'created_at' | 'updated_at' | 'bounce_last_uid' | 'bounce_uidvalidity' | 'bounce_last_sync'>>;

type Row = Omit<InstanceSettings, 'bounce_enabled' | 'bounce_imap_ssl' | 'retry_delays'> & {bounce_enabled: number; bounce_imap_ssl: number; retry_delays: string};

const WRITABLE = new Set([
	'name', 'bounce_enabled', 'bounce_imap_host', 'bounce_imap_port', 'bounce_imap_user', 'bounce_imap_password', 'bounce_imap_folder', 'bounce_imap_ssl',
	'bounce_poll_interval', 'bounce_return_path', 'retry_delays', 'max_retries',
]);

/** Text settings that an empty string clears. */
const CLEARABLE = new Set(['bounce_imap_host', 'bounce_imap_user', 'bounce_imap_password', 'bounce_return_path']);

/** The singleton `instance` row (id = 1): bounce mailbox and retry settings. */
export class InstanceTable {
	readonly #ensure: Database.Statement<[string, string]>;
	readonly #get: Database.Statement<[], Row>;
	readonly #setPoll: Database.Statement<[number | null, number | null, string | null]>;

	constructor(private readonly db: Database.Database, private readonly secrets: SecretBox | undefined) {
		this.#ensure = db.prepare('INSERT OR IGNORE INTO instance (id, created_at, updated_at) VALUES (1, ?, ?)');
		this.#get = db.prepare('SELECT * FROM instance WHERE id = 1');
		this.#setPoll = db.prepare('UPDATE instance SET bounce_last_uid = ?, bounce_uidvalidity = ?, bounce_last_sync = ? WHERE id = 1');
	}

	ensureRow(): void {
		const now = isoNow();
		this.#ensure.run(now, now);
	}

	get(): InstanceSettings {
		let row = this.#get.get();
		if (!row) {
			this.ensureRow();
			row = this.#get.get()!;
		}

		return {
			...row,
			id: 1,
			bounce_enabled: row.bounce_enabled === 1,
			bounce_imap_ssl: row.bounce_imap_ssl === 1,
			retry_delays: JSON.parse(row.retry_delays) as number[],
			bounce_imap_password: row.bounce_imap_password && this.secrets ? this.secrets.decrypt(row.bounce_imap_password, 'instance.bounce_imap_password') : null,
		};
	}

	update(changes: InstanceChanges, now: string): void {
		this.ensureRow();
		const assignments: string[] = [];
		const values: Record<string, unknown> = {now};
		for (const [key, value] of Object.entries(changes)) {
			if (value === undefined || !WRITABLE.has(key)) {
				continue;
			}

			assignments.push(`${key} = @${key}`);
			if (key === 'retry_delays') {
				values[key] = JSON.stringify(value);
			} else if (typeof value === 'boolean') {
				values[key] = value ? 1 : 0;
			} else if (key === 'bounce_imap_password' && typeof value === 'string' && value !== '') {
				if (!this.secrets) {
					throw new Error('this store was opened without the encryption key');
				}

				values[key] = this.secrets.encrypt(value, 'instance.bounce_imap_password');
			} else {
				values[key] = value === '' && CLEARABLE.has(key) ? null : value;
			}
		}

		if (assignments.length > 0) {
			this.db.prepare(`UPDATE instance SET ${assignments.join(', ')}, updated_at = @now WHERE id = 1`).run(values);
		}
	}

	setPollState(state: {lastUid: number | null; uidValidity: number | null; lastSync: string | null}): void {
		this.#setPoll.run(state.lastUid, state.uidValidity, state.lastSync);
	}
}
