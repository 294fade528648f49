import {epochSeconds} from '../clock.js';
import type {Store} from '../db/store.js';
import {isAppError} from '../errors.js';
import {redactedJson} from '../redact.js';
import type {WithAfterRollback} from '../db/group-commit.js';

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
export function recorded<T>(
	store: Store,
	entry: {endpoint: string; tenantId: string | null; payload: unknown; rewrite?: Record<string, (value: unknown) => unknown>},
	run: () => T,
	statusOf: (result: T) => number = () => 200,
): T {
	const ts = epochSeconds(store.clock);
	const payloadJson = redactedJson(entry.payload, entry.rewrite);
	try {
		const result = run();
		store.commandLog.insert({ts, endpoint: entry.endpoint, tenantId: entry.tenantId, payloadJson, status: statusOf(result), responseJson: redactedJson(result)});
		return result;
	} catch (error) {
		if (isAppError(error) && error.status === 400) {
			const log = () => store.commandLog.insert({ts, endpoint: entry.endpoint, tenantId: entry.tenantId, payloadJson, status: 400, responseJson: redactedJson({detail: error.detail})});
			if (store.db.inTransaction) {
				// Inside a group commit the refused job's savepoint is rolled back: log it after that.
				(error as WithAfterRollback).afterRollback = log;
			} else {
				log();
			}
		}

		throw error;
	}
}
