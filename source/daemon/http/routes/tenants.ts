import {z} from 'zod';
import {scopeTenant} from '../auth.js';
import {addTenant, deleteTenant, getTenant, issueApiKey, listTenants, revokeApiKey, tenantInfo, updateTenant} from '../../../shared/operations/tenants.js';
import {syncStatus} from '../../../shared/operations/sync-status.js';
import {TenantPayload, TenantsQuery, TenantUpdate} from '../../../shared/schemas/tenant.js';
import type {Daemon} from '../../context.js';
import {route} from '../app.js';

export function tenantRoutes(daemon: Daemon) {
	const context = {store: daemon.store, effects: daemon.effects};
	return [
		route({
			method: 'POST',
			path: '/tenant',
			class: 'admin',
			summary: 'Create or replace a tenant (a new tenant gets its API key, shown once)',
			body: TenantPayload,
			handler: ({input}) => ({json: addTenant(context, input)}),
		}),
		route({
			method: 'GET',
			path: '/tenants',
			class: 'admin',
			summary: 'List tenants',
			query: TenantsQuery,
			handler: ({q}) => ({json: {ok: true, tenants: listTenants(daemon.store, {activeOnly: q.active_only})}}),
		}),
		route({
			method: 'GET',
			path: '/tenants/sync-status',
			class: 'admin',
			summary: 'Delivery-report state of every tenant',
			handler: () => ({json: syncStatus(daemon.store, daemon.config.syncIntervalMs / 1000)}),
		}),
		route({
			method: 'GET',
			path: '/tenant/:tenant_id',
			class: 'tenant',
			summary: 'Get a tenant',
			handler: ({principal, params}) => {
				const id = scopeTenant(principal!, params['tenant_id'], ['path', 'tenant_id']);
				return {json: tenantInfo(getTenant(daemon.store, id))};
			},
		}),
		route({
			method: 'PUT',
			path: '/tenant/:tenant_id',
			class: 'tenant',
			summary: 'Update some fields of a tenant',
			body: TenantUpdate.optional().transform(value => value ?? {}),
			handler: ({principal, params, input}) => {
				const id = scopeTenant(principal!, params['tenant_id'], ['path', 'tenant_id']);
				return {json: updateTenant(context, principal!, id, input)};
			},
		}),
		route({
			method: 'DELETE',
			path: '/tenant/:tenant_id',
			class: 'admin',
			summary: 'Delete a tenant and everything it owns',
			handler: ({params}) => ({json: deleteTenant(context, params['tenant_id']!)}),
		}),
		route({
			method: 'POST',
			path: '/tenant/:tenant_id/api-key',
			class: 'admin',
			summary: 'Issue a new tenant API key (the previous one stops working)',
			handler: ({params}) => ({json: issueApiKey(context, params['tenant_id']!)}),
		}),
		route({
			method: 'DELETE',
			path: '/tenant/:tenant_id/api-key',
			class: 'admin',
			summary: 'Revoke the tenant API key',
			handler: ({params}) => ({json: revokeApiKey(context, params['tenant_id']!)}),
		}),
	];
}

export const TenantIdQuery = z.object({tenant_id: z.string().optional()});
