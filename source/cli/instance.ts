import {openStore, type Store} from '../shared/db/store.js';
import {failure} from '../shared/errors.js';
import {instanceExists} from '../shared/operations/create-instance.js';
import {instancePaths, type InstancePaths} from '../shared/paths.js';
import {instanceState} from '../shared/pidfile.js';
import {urlOf} from '../daemon/protocol.js';

/** Paths of an existing instance, or a runtime error telling how to create it. */
export function existingInstance(name: string): InstancePaths {
	const paths = instancePaths(name);
	if (!instanceExists(paths)) {
		throw failure(`no instance '${name}' — create it with \`mail-proxy start ${name}\``);
	}

	return paths;
}

/** Opens the instance store for one command and closes it afterwards. */
export async function withStore<T>(paths: InstancePaths, fn: (store: Store) => T | Promise<T>): Promise<T> {
	const store = openStore(paths);
	try {
		return await fn(store);
	} finally {
		store.close();
	}
}

/** URL of the running daemon, if it runs. */
export function runningUrl(paths: InstancePaths): string | undefined {
	const {state, info} = instanceState(paths);
	return state === 'running' && info && info.port > 0 ? urlOf(info.host, info.port) : undefined;
}
