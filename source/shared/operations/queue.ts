import {epochSeconds, isoNow} from '../clock.js';
import type {EventRow} from '../db/events.js';
import type {ListedMessage, MessageStatus} from '../db/messages.js';
import type {Store} from '../db/store.js';
import {refused} from '../errors.js';
import {maskAttachmentSecrets, type StoredMessage} from './enqueue.js';
import {recorded, type OpContext} from './context.js';
import {getTenant} from './tenants.js';

export type HistoryItem = {event_id: number; event_type: string; event_ts: number; description: string | null; metadata: unknown; reported_ts: number | null};

export type MessageRecord = {
	pk: string;
	id: string;
	tenant_id: string;
	tenant_name: string | null;
	account_id: string | null;
	priority: number;
	batch_code: string | null;
	deferred_ts: number | null;
	is_pec: boolean;
	status: MessageStatus;
	sent_ts?: number;
	error_ts?: number;
	error?: string | null;
	reported_ts?: number;
	bounce_ts?: number;
	bounce_type?: string;
	bounce_code?: string | null;
	bounce_reason?: string | null;
	bounce_category?: string | null;
	created_at: string;
	updated_at: string;
	message: Record<string, unknown>;
	history?: HistoryItem[];
};

function parseMetadata(event: EventRow): Record<string, unknown> {
	return event.metadata ? (JSON.parse(event.metadata) as Record<string, unknown>) : {};
}

/** A `MessageRecord` (rest-api §2.8) from a row and its events. */
export function messageRecord(row: ListedMessage, events: EventRow[], includeHistory: boolean): MessageRecord {
	const latest = (type: string) => events.filter(event => event.event_type === type).at(-1);
	const stored = JSON.parse(row.payload) as StoredMessage;
	const {raw, ...visible} = maskAttachmentSecrets(stored);
	const message: Record<string, unknown> = {...visible, priority: row.priority};
	if (raw !== undefined) {
		message['raw_size'] = Buffer.byteLength(raw, 'base64');
	}

	if (row.retry_count > 0) {
		message['retry_count'] = row.retry_count;
	}

	const record: MessageRecord = {
		pk: row.pk,
		id: row.id,
		tenant_id: row.tenant_id,
		tenant_name: row.tenant_name,
		account_id: row.account_id,
		priority: row.priority,
		batch_code: row.batch_code,
		deferred_ts: row.deferred_ts,
		is_pec: row.is_pec === 1,
		status: row.status,
		created_at: row.created_at,
		updated_at: row.updated_at,
		message,
	};
	const sent = latest('sent');
	if (sent && (row.status === 'sent' || row.status === 'bounced')) {
		record.sent_ts = sent.event_ts;
	}

	const error = latest('error');
	if (error) {
		record.error_ts = error.event_ts;
		record.error = error.description;
	}

	if (events.length > 0 && events.every(event => event.reported_ts !== null)) {
		record.reported_ts = Math.max(...events.map(event => event.reported_ts!));
	}

	const bounce = latest('bounce');
	if (bounce) {
		const metadata = parseMetadata(bounce);
		record.bounce_ts = bounce.event_ts;
		record.bounce_type = metadata['bounce_type'] as string;
		record.bounce_code = (metadata['bounce_code'] as string | undefined) ?? null;
		record.bounce_reason = bounce.description;
		record.bounce_category = (metadata['reason'] as string | undefined) ?? null;
	}

	if (includeHistory) {
		record.history = events.map(event => ({
			event_id: event.id,
			event_type: event.event_type,
			event_ts: event.event_ts,
			description: event.description,
			metadata: event.metadata ? JSON.parse(event.metadata) : null,
			reported_ts: event.reported_ts,
		}));
	}

	return record;
}

export type ListOptions = {activeOnly?: boolean; includeHistory?: boolean; limit?: number; offset?: number; status?: MessageStatus; accountId?: string; ids?: string[]};

/** `GET /messages`: one tenant's messages by priority, then arrival. */
export function listMessages(store: Store, tenantId: string, options: ListOptions = {}): MessageRecord[] {
	const rows = store.messages.list({tenantId, now: epochSeconds(store.clock), ...options});
	const events = new Map<string, EventRow[]>();
	for (const event of store.events.ofMessages(rows.map(row => row.pk))) {
		const list = events.get(event.message_pk) ?? [];
		list.push(event);
		events.set(event.message_pk, list);
	}

	return rows.map(row => messageRecord(row, events.get(row.pk) ?? [], options.includeHistory ?? false));
}

function requireTenantId(tenantId: string): void {
	if (tenantId === '') {
		throw refused('tenant_id is required');
	}
}

/** `POST /commands/delete-messages`: the tenant's messages with these ids, whatever their state. */
export function deleteMessages({store, effects}: OpContext, tenantId: string, ids: string[]) {
	requireTenantId(tenantId);
	return recorded(store, {endpoint: 'deleteMessages', tenantId, payload: {tenant_id: tenantId, ids}}, () => {
		const notFound: string[] = [];
		let removed = 0;
		store.transaction(() => {
			for (const id of new Set(ids)) {
				if (store.messages.deleteOne(tenantId, id)) {
					removed++;
				} else {
					notFound.push(id);
				}
			}
		});
		effects?.messagesReady?.();
		return {ok: true as const, removed, not_found: notFound, unauthorized: [] as string[]};
	});
}

/** `POST /commands/cleanup-messages`: processed, fully acknowledged messages older than the threshold. */
export function cleanupMessages({store}: OpContext, tenantId: string, olderThanSeconds: number | null | undefined, retentionSeconds: number) {
	requireTenantId(tenantId);
	const age = Math.max(0, olderThanSeconds ?? retentionSeconds);
	return recorded(store, {endpoint: 'cleanupMessages', tenantId, payload: {tenant_id: tenantId, older_than_seconds: olderThanSeconds ?? null}}, () => {
		const removed = store.transaction(() => store.messages.cleanup(tenantId, epochSeconds(store.clock) - age));
		return {ok: true as const, removed};
	});
}

function parseBatches(value: string | null): string[] {
	return value === null || value === '' ? [] : value.split(',');
}

function suspension(tenantId: string, batches: string[], batchCode: string | undefined, pending: number) {
	return {ok: true as const, tenant_id: tenantId, ...(batchCode === undefined ? {} : {batch_code: batchCode}), suspended_batches: batches, pending_messages: pending};
}

/** `POST /commands/suspend`: all sending of the tenant (`*`), or one batch. */
export function suspend({store, effects}: OpContext, tenantId: string, batchCode?: string) {
	requireTenantId(tenantId);
	return recorded(store, {endpoint: 'suspend', tenantId, payload: {tenant_id: tenantId, batch_code: batchCode ?? null}}, () => {
		const result = store.transaction(() => {
			const tenant = store.tenants.get(tenantId);
			if (!tenant) {
				throw refused('tenant not found');
			}

			let batches = parseBatches(tenant.suspended_batches);
			if (batchCode === undefined) {
				batches = ['*'];
			} else if (!batches.includes('*') && !batches.includes(batchCode)) {
				batches = [...batches, batchCode].sort();
			}

			store.tenants.setSuspendedBatches(tenantId, batches.length === 0 ? null : batches.join(','), isoNow(store.clock));
			return suspension(tenantId, batches, batchCode, store.messages.pendingOf(tenantId, batchCode));
		});
		effects?.tenantsChanged?.();
		return result;
	});
}

/** `POST /commands/activate`: resume all, or one batch (refused while everything is suspended). */
export function activate({store, effects}: OpContext, tenantId: string, batchCode?: string) {
	requireTenantId(tenantId);
	return recorded(store, {endpoint: 'activate', tenantId, payload: {tenant_id: tenantId, batch_code: batchCode ?? null}}, () => {
		const result = store.transaction(() => {
			const tenant = store.tenants.get(tenantId);
			let batches = parseBatches(tenant?.suspended_batches ?? null);
			if (!tenant || (batchCode !== undefined && batches.includes('*'))) {
				throw refused('tenant not found or cannot activate single batch from full suspension');
			}

			batches = batchCode === undefined ? [] : batches.filter(batch => batch !== batchCode);
			store.tenants.setSuspendedBatches(tenantId, batches.length === 0 ? null : batches.join(','), isoNow(store.clock));
			return suspension(tenantId, batches, batchCode, store.messages.pendingOf(tenantId, batchCode));
		});
		effects?.tenantsChanged?.();
		effects?.messagesReady?.();
		return result;
	});
}

/**
 * `POST /commands/run-now`: wakes every loop and clears report backoff; for one tenant (a tenant key,
 * or the admin naming it) also cancels do-not-disturb and forces one sync POST.
 */
export function runNow({store, effects}: OpContext, tenantId?: string): {ok: true} {
	store.transaction(() => {
		if (tenantId === undefined) {
			store.tenants.clearBackoff();
		} else {
			store.tenants.forceSync(tenantId);
		}
	});
	effects?.runNow?.(tenantId);
	return {ok: true};
}

/** `<instance> stats`: tenants, accounts and messages by status. */
export function instanceStats(store: Store) {
	const counts = store.messages.statusCounts(null, epochSeconds(store.clock));
	const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
	return {
		tenants: store.tenants.list().length,
		accounts: store.accounts.all().length,
		messages: {total, ...counts},
	};
}

/** `<instance> <tenant> messages show`: one message by id, with its history. */
export function getMessage(store: Store, tenantId: string, id: string, includeHistory = true): MessageRecord {
	getTenant(store, tenantId);
	const [record] = listMessages(store, tenantId, {ids: [id], includeHistory});
	if (!record) {
		throw refused(`message '${id}' not found in tenant '${tenantId}'`);
	}

	return record;
}
