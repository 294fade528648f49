import type {Store} from '../db/store.js';
import {tenantSyncStatus} from './sync-status.js';
import {getTenant, tenantInfo} from './tenants.js';

/** What `<instance> <tenant> info` shows: configuration, accounts, message counts, report state. */
export function tenantOverview(store: Store, tenantId: string, syncIntervalSeconds = 300) {
	const tenant = getTenant(store, tenantId);
	const pending = store.events.unreportedCounts().get(tenantId) ?? 0;
	return {
		...tenantInfo(tenant),
		suspended_batches: tenant.suspended_batches === null ? [] : tenant.suspended_batches.split(','),
		accounts: store.accounts.count(tenantId),
		sync: tenantSyncStatus(tenant, pending, store.clock.now() / 1000, syncIntervalSeconds),
	};
}
