import {scopeTenant} from '../auth.js';
import {addAccount, deleteAccount, listAccounts} from '../../../shared/operations/accounts.js';
import {AccountPayload} from '../../../shared/schemas/account.js';
import type {Daemon} from '../../context.js';
import {route} from '../app.js';
import {TenantIdQuery} from './tenants.js';

export function accountRoutes(daemon: Daemon) {
	const context = {store: daemon.store, effects: daemon.effects};
	return [
		route({
			method: 'POST',
			path: '/account',
			class: 'tenant',
			summary: 'Create or update an SMTP account',
			body: AccountPayload,
			handler: ({principal, input}) => {
				const tenantId = scopeTenant(principal!, input.tenant_id, ['body', 'tenant_id']);
				return {json: addAccount(context, tenantId, input)};
			},
		}),
		route({
			method: 'GET',
			path: '/accounts',
			class: 'tenant',
			summary: "List a tenant's SMTP accounts (passwords are never returned)",
			query: TenantIdQuery,
			handler: ({principal, q}) => {
				const tenantId = scopeTenant(principal!, q.tenant_id, ['query', 'tenant_id']);
				return {json: {ok: true, accounts: listAccounts(daemon.store, tenantId)}};
			},
		}),
		route({
			method: 'DELETE',
			path: '/account/:account_id',
			class: 'tenant',
			summary: 'Delete an SMTP account with its messages',
			query: TenantIdQuery,
			handler: ({principal, q, params}) => {
				const tenantId = scopeTenant(principal!, q.tenant_id, ['query', 'tenant_id']);
				return {json: deleteAccount(context, tenantId, params['account_id']!)};
			},
		}),
	];
}
