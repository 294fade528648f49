import {epochSeconds} from '../clock.js';
import type {Store} from '../db/store.js';
import {isAppError} from '../errors.js';
import {redact} from '../redact.js';

/**
 * What a command may need to tell the running daemon. REST passes the daemon's bus; the CLI pokes the
 * daemon over HTTP when it runs (and nothing when it does not: the daemon reads the store at start).
 */
export type Effects = {
	messagesReady?(): void;
	accountsChanged?(tenantId: string, accountId?: string): void;
	/** A tenant's configuration, activity or suspension changed: dispatch and reports re-read it. */
	tenantsChanged?(): void;
	runNow?(tenantId?: string): void;
	bounceConfigChanged?(): void;
};

export type OpContext = {store: Store; effects?: Effects};

/**
 * Runs a state-changing command and records it in the command log (engine §2.5, rest-api §2.21):
 * status 200 when it succeeded, 400 when the command itself refused; invalid input (422) and
 * authorization failures never reach here.
 */
export function recorded<T>(store: Store, entry: {endpoint: string; tenantId: string | null; payload: unknown}, run: () => T): T {
	const ts = epochSeconds(store.clock);
	try {
		const result = run();
		store.commandLog.insert({ts, endpoint: entry.endpoint, tenantId: entry.tenantId, payload: redact(entry.payload), status: 200, response: redact(result)});
		return result;
	} catch (error) {
		if (isAppError(error) && error.status === 400) {
			store.commandLog.insert({ts, endpoint: entry.endpoint, tenantId: entry.tenantId, payload: redact(entry.payload), status: 400, response: {detail: error.detail}});
		}

		throw error;
	}
}
