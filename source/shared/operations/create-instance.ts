import fs from 'node:fs';
import path from 'node:path';
import {newKey, newToken, SecretBox} from '../crypto.js';
import {isoNow} from '../clock.js';
import {openDatabase} from '../db/connection.js';
import {Store} from '../db/store.js';
import {usageError} from '../errors.js';
import type {InstancePaths} from '../paths.js';

export type CreateResult = {created: boolean; token?: string};

export function instanceExists(paths: InstancePaths): boolean {
	return fs.existsSync(paths.db);
}

/**
 * Creates the instance directory (0700) with its database, key file (0600) and admin token. The whole
 * directory is built under a temporary name and renamed into place, so two concurrent first starts
 * create it exactly once and nobody ever sees half an instance.
 */
export function ensureInstance(paths: InstancePaths, options: {env?: NodeJS.ProcessEnv; apiToken?: string} = {}): CreateResult {
	if (instanceExists(paths)) {
		return {created: false};
	}

	if (options.apiToken !== undefined && options.apiToken.length < 32) {
		throw usageError('--api-token must be at least 32 characters');
	}

	const env = options.env ?? process.env;
	fs.mkdirSync(paths.home, {recursive: true, mode: 0o700});
	const temporary = fs.mkdtempSync(path.join(paths.home, `.${paths.name}.creating-`));
	try {
		fs.chmodSync(temporary, 0o700);
		const envKey = env['MAIL_PROXY_ENCRYPTION_KEY'];
		let key: Buffer;
		if (envKey) {
			key = Buffer.from(envKey, 'base64');
		} else {
			key = newKey();
			fs.writeFileSync(path.join(temporary, path.basename(paths.key)), key, {mode: 0o600});
		}

		fs.mkdirSync(path.join(temporary, path.basename(paths.logs)), {mode: 0o700});
		const secrets = new SecretBox(key);
		const token = options.apiToken ?? newToken();
		const store = new Store(openDatabase(path.join(temporary, path.basename(paths.db)), {migrate: true}), secrets);
		try {
			store.transaction(() => {
				store.config.set('encryption_check', secrets.makeCheck());
				store.config.setSecret('api_token', token);
				store.config.setSecret('download_secret', newToken());
				store.config.set('name', paths.name);
				store.config.set('created_at', isoNow());
				store.instance.ensureRow();
			});
			store.db.pragma('wal_checkpoint(TRUNCATE)');
		} finally {
			store.close();
		}

		try {
			fs.renameSync(temporary, paths.dir);
		} catch (error) {
			const code = (error as NodeJS.ErrnoException).code;
			if (code === 'EEXIST' || code === 'ENOTEMPTY') {
				return {created: false};
			}

			throw error;
		}

		return {created: true, token};
	} finally {
		fs.rmSync(temporary, {recursive: true, force: true});
	}
}
