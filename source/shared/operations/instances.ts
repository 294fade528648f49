import fs from 'node:fs';
import {peekInstance} from '../db/peek.js';
import {instancePaths, NAME_PATTERN, type InstancePaths} from '../paths.js';

/** Names of the instances under `home` (directories holding a database), sorted. */
export function listInstanceNames(home: string): string[] {
	let entries: fs.Dirent[];
	try {
		entries = fs.readdirSync(home, {withFileTypes: true});
	} catch {
		return [];
	}

	return entries
		.filter(entry => entry.isDirectory() && NAME_PATTERN.test(entry.name) && fs.existsSync(instancePaths(entry.name, home).db))
		.map(entry => entry.name)
		.sort();
}

/** Ports stored by the other instances under the same home (never handed out twice). */
export function portsTakenByOthers(paths: InstancePaths): Set<number> {
	const taken = new Set<number>();
	for (const name of listInstanceNames(paths.home)) {
		if (name !== paths.name) {
			const {port} = peekInstance(instancePaths(name, paths.home));
			if (port) {
				taken.add(port);
			}
		}
	}

	return taken;
}
