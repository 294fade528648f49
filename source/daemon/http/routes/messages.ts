import {unauthorized} from '../../../shared/errors.js';
import {enqueueMessages} from '../../../shared/operations/enqueue.js';
import {activate, cleanupMessages, deleteMessages, listMessages, runNow, suspend} from '../../../shared/operations/queue.js';
import type {Principal} from '../../../shared/principal.js';
import {BatchQuery, CleanupPayload, DeleteMessagesPayload, EnqueuePayload, MessagesQuery, TenantQuery} from '../../../shared/schemas/message.js';
import type {Daemon} from '../../context.js';
import {scopeTenant} from '../auth.js';
import {route} from '../app.js';

/** add-messages: each message names its tenant; a tenant key may omit it or name only its own. */
function messageTenant(principal: Principal, value: string | null | undefined): string {
	if (principal.kind === 'admin') {
		return value ?? '';
	}

	if (value !== undefined && value !== null && value !== '' && value !== principal.tenantId) {
		throw unauthorized('Token not authorized for this tenant');
	}

	return principal.tenantId;
}

export function messageRoutes(daemon: Daemon) {
	const {store, config} = daemon;
	const context = {store, effects: daemon.effects};
	return [
		route({
			method: 'POST',
			path: '/commands/add-messages',
			class: 'tenant',
			summary: 'Enqueue up to 1000 messages (partial acceptance; durable when answered)',
			body: EnqueuePayload,
			handler: async ({principal, input}) => {
				const messages = input.messages.map(message => ({...message, tenant_id: messageTenant(principal!, message.tenant_id)}));
				const result = await store.write(() => enqueueMessages(context, {...input, messages}, config.defaultPriority), messages.length);
				if (!result.ok) {
					return {status: 400, json: {detail: {error: null, rejected: result.rejected}}};
				}

				return {json: result};
			},
		}),
		route({
			method: 'GET',
			path: '/messages',
			class: 'tenant',
			summary: "List a tenant's messages (priority, then arrival)",
			query: MessagesQuery,
			handler: ({principal, q}) => {
				const tenantId = scopeTenant(principal!, q.tenant_id, ['query', 'tenant_id']);
				return {json: {ok: true, messages: listMessages(store, tenantId, {activeOnly: q.active_only, includeHistory: q.include_history, limit: q.limit, offset: q.offset, status: q.status})}};
			},
		}),
		route({
			method: 'POST',
			path: '/commands/delete-messages',
			class: 'tenant',
			summary: "Delete messages of the tenant by id, whatever their state",
			query: TenantQuery,
			body: DeleteMessagesPayload,
			handler: async ({principal, q, input}) => {
				const tenantId = scopeTenant(principal!, q.tenant_id, ['query', 'tenant_id']);
				return {json: await store.write(() => deleteMessages(context, tenantId, input.ids))};
			},
		}),
		route({
			method: 'POST',
			path: '/commands/cleanup-messages',
			class: 'tenant',
			summary: 'Delete processed, acknowledged messages older than a threshold',
			query: TenantQuery,
			body: CleanupPayload,
			handler: async ({principal, q, input}) => {
				const tenantId = scopeTenant(principal!, q.tenant_id, ['query', 'tenant_id']);
				return {json: await store.write(() => cleanupMessages(context, tenantId, input.older_than_seconds, config.reportRetentionSeconds))};
			},
		}),
		route({
			method: 'POST',
			path: '/commands/suspend',
			class: 'tenant',
			summary: 'Pause sending for the tenant, or for one batch',
			query: BatchQuery,
			handler: async ({principal, q}) => {
				const tenantId = scopeTenant(principal!, q.tenant_id, ['query', 'tenant_id']);
				return {json: await store.write(() => suspend(context, tenantId, q.batch_code || undefined))};
			},
		}),
		route({
			method: 'POST',
			path: '/commands/activate',
			class: 'tenant',
			summary: 'Resume sending for the tenant, or for one batch',
			query: BatchQuery,
			handler: async ({principal, q}) => {
				const tenantId = scopeTenant(principal!, q.tenant_id, ['query', 'tenant_id']);
				return {json: await store.write(() => activate(context, tenantId, q.batch_code || undefined))};
			},
		}),
		route({
			method: 'POST',
			path: '/commands/run-now',
			class: 'auth',
			summary: 'Wake dispatch and reporting now (for one tenant: also cancel do-not-disturb and force a sync)',
			query: TenantQuery,
			handler: async ({principal, q}) => {
				const tenantId = principal!.kind === 'tenant' ? scopeTenant(principal!, q.tenant_id, ['query', 'tenant_id']) : q.tenant_id || undefined;
				return {json: await store.write(() => runNow(context, tenantId))};
			},
		}),
	];
}
