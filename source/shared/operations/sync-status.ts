import type {Store} from '../db/store.js';
import type {Tenant} from '../db/tenants.js';

export type TenantSyncStatus = {
	id: string;
	name: string | null;
	active: boolean;
	client_base_url: string | null;
	last_sync_ts: number | null;
	next_sync_due: boolean;
	in_dnd: boolean;
	consecutive_failures: number;
	pending_reports: number;
	dnd_until?: number;
	retry_at?: number;
};

export function tenantSyncStatus(tenant: Tenant, pending: number, nowSeconds: number, intervalSeconds: number): TenantSyncStatus {
	const inDnd = tenant.sync_dnd_until !== null && tenant.sync_dnd_until > nowSeconds;
	const lastOk = tenant.sync_last_ts;
	return {
		id: tenant.id,
		name: tenant.name,
		active: tenant.active,
		client_base_url: tenant.client_base_url,
		// 0.6 semantics: while in do-not-disturb, last_sync_ts is the end of it.
		last_sync_ts: inDnd ? tenant.sync_dnd_until : lastOk,
		next_sync_due: lastOk === null || (!inDnd && nowSeconds - lastOk >= intervalSeconds),
		in_dnd: inDnd,
		consecutive_failures: tenant.sync_failures,
		pending_reports: pending,
		...(tenant.sync_dnd_until === null ? {} : {dnd_until: tenant.sync_dnd_until}),
		...(tenant.sync_retry_ts === null ? {} : {retry_at: tenant.sync_retry_ts}),
	};
}

/** `GET /tenants/sync-status`: the reporter's persisted state for every tenant. */
export function syncStatus(store: Store, intervalSeconds: number) {
	const pending = store.events.unreportedCounts();
	const now = store.clock.now() / 1000;
	return {
		ok: true as const,
		sync_interval_seconds: intervalSeconds,
		tenants: store.tenants.list().map(tenant => tenantSyncStatus(tenant, pending.get(tenant.id) ?? 0, now, intervalSeconds)),
	};
}
