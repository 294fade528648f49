import {EventEmitter} from 'node:events';
import type {Clock} from '../shared/clock.js';
import type {Config} from '../shared/config.js';
import type {Store} from '../shared/db/store.js';
import type {InstancePaths} from '../shared/paths.js';
import type {Logger} from './log.js';
import type {Metrics} from './metrics.js';
import type {Effects} from '../shared/operations/context.js';

/**
 * Small events through which the daemon parts meet (besides the store):
 * - `messages-ready`: enqueue or run-now; the dispatcher wakes.
 * - `events-written`: delivery/bounce/PEC events were stored; the reporter wakes.
 * - `run-now` (tenantId?): an explicit wake of every loop.
 * - `accounts-changed` (tenantId, accountId?): pooled connections of that account must be rebuilt.
 * - `tenants-changed`: a tenant's activity, suspension or limits changed; dispatch re-reads them.
 * - `bounce-config-changed`: the bounce poller must restart from the stored configuration.
 */
export type DaemonEvents = {
	'messages-ready': [];
	'events-written': [];
	'reports-acknowledged': [];
	'run-now': [tenantId: string | undefined];
	'accounts-changed': [tenantId: string, accountId: string | undefined];
	'tenants-changed': [];
	'bounce-config-changed': [];
};

export class Bus extends EventEmitter<DaemonEvents> {}

export type Daemon = {
	store: Store;
	config: Config;
	paths: InstancePaths;
	log: Logger;
	bus: Bus;
	clock: Clock;
	startedAt: number;
	/** Set while draining for shutdown. */
	draining: boolean;
	/** The daemon's own base URL once listening. */
	url: string;
	effects: Effects;
	metrics: Metrics;
};

/**
 * Operation effects delivered through the bus (the REST front door). Operations may run inside a
 * group-commit transaction: the events fire on the next turn of the event loop, after the commit, so
 * no listener ever reads (or claims) rows that are not committed yet.
 */
export function busEffects(bus: Bus): Effects {
	const later = (emit: () => void) => setImmediate(emit);
	return {
		messagesReady: () => later(() => bus.emit('messages-ready')),
		accountsChanged: (tenantId, accountId) => later(() => bus.emit('accounts-changed', tenantId, accountId)),
		tenantsChanged: () => later(() => bus.emit('tenants-changed')),
		runNow: tenantId => later(() => bus.emit('run-now', tenantId)),
		bounceConfigChanged: () => later(() => bus.emit('bounce-config-changed')),
	};
}
