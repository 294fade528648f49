import os from 'node:os';
import path from 'node:path';
import {usageError} from './errors.js';

export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export type InstancePaths = {
	name: string;
	home: string;
	dir: string;
	db: string;
	pidfile: string;
	lock: string;
	logs: string;
	log: string;
	key: string;
	largeFiles: string;
};

export function homeDir(env: NodeJS.ProcessEnv = process.env): string {
	const configured = env['MAIL_PROXY_HOME'];
	return configured && configured.length > 0 ? path.resolve(configured) : path.join(os.homedir(), '.mail-proxy');
}

/** Throws a usage error (exit 2) unless `name` is a valid instance name or tenant/account id. */
export function assertName(name: string | undefined, what = 'instance name'): string {
	if (name === undefined || !NAME_PATTERN.test(name)) {
		const shown = name === undefined ? '(missing)' : JSON.stringify(name);
		throw usageError(`invalid ${what} ${shown}: use 1-64 letters, digits, '_' or '-'`);
	}

	return name;
}

export function instancePaths(name: string, home = homeDir()): InstancePaths {
	assertName(name);
	const dir = path.join(home, name);
	const logs = path.join(dir, 'logs');
	return {
		name,
		home,
		dir,
		db: path.join(dir, 'mail_service.db'),
		pidfile: path.join(dir, 'server.pid'),
		lock: path.join(dir, 'daemon.lock'),
		logs,
		log: path.join(logs, 'daemon.log'),
		key: path.join(dir, 'encryption.key'),
		largeFiles: path.join(dir, 'large-files'),
	};
}
