import type Database from 'better-sqlite3';

export type LargeFile = {
	file_id: string;
	tenant_id: string;
	message_pk: string | null;
	filename: string;
	mime_type: string | null;
	size: number;
	path: string;
	created_ts: number;
	expires_ts: number;
	first_download_ts: number | null;
	lifespan_days: number | null;
};

/** `large_files`: attachments replaced by download links (large-file `rewrite` policy). */
export class LargeFilesTable {
	readonly #pathsOfTenant: Database.Statement<[string], {path: string}>;
	readonly #insert: Database.Statement;
	readonly #get: Database.Statement<[string], LargeFile>;
	readonly #markDownloaded: Database.Statement<[number, string]>;
	readonly #expired: Database.Statement<[number, number], LargeFile>;
	readonly #delete: Database.Statement<[string]>;

	constructor(db: Database.Database) {
		this.#pathsOfTenant = db.prepare('SELECT path FROM large_files WHERE tenant_id = ?');
		this.#insert = db.prepare(`INSERT INTO large_files (file_id, tenant_id, message_pk, filename, mime_type, size, path, created_ts, expires_ts, lifespan_days)
			VALUES (@file_id, @tenant_id, @message_pk, @filename, @mime_type, @size, @path, @created_ts, @expires_ts, @lifespan_days)`);
		this.#get = db.prepare('SELECT * FROM large_files WHERE file_id = ?');
		this.#markDownloaded = db.prepare('UPDATE large_files SET first_download_ts = ? WHERE file_id = ? AND first_download_ts IS NULL');
		this.#expired = db.prepare(`SELECT * FROM large_files WHERE expires_ts <= ?1
			OR (first_download_ts IS NOT NULL AND lifespan_days IS NOT NULL AND first_download_ts + lifespan_days * 86400 <= ?2)`);
		this.#delete = db.prepare('DELETE FROM large_files WHERE file_id = ?');
	}

	pathsOfTenant(tenantId: string): string[] {
		return this.#pathsOfTenant.all(tenantId).map(row => row.path);
	}

	insert(file: Omit<LargeFile, 'first_download_ts'>): void {
		this.#insert.run(file);
	}

	get(fileId: string): LargeFile | undefined {
		return this.#get.get(fileId);
	}

	markDownloaded(fileId: string, ts: number): void {
		this.#markDownloaded.run(ts, fileId);
	}

	expired(now: number): LargeFile[] {
		return this.#expired.all(now, now);
	}

	delete(fileId: string): void {
		this.#delete.run(fileId);
	}
}
