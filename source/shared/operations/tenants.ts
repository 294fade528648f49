import fs from 'node:fs';
import path from 'node:path';
import {isDeepStrictEqual} from 'node:util';
import {isoNow} from '../clock.js';
import {newToken, sha256Hex} from '../crypto.js';
import type {Store} from '../db/store.js';
import type {Tenant, TenantConfig} from '../db/tenants.js';
import {forbidden, notFound} from '../errors.js';
import type {Principal} from '../principal.js';
import {MASK} from '../schemas/common.js';
import {RateLimits, type TenantAuth, type TenantPayload, type TenantUpdate} from '../schemas/tenant.js';
import {recorded, type OpContext} from './context.js';

/** `TenantInfo`: the payload fields with secrets masked (rest-api §1.4), plus timestamps. */
export type TenantInfo = {
	id: string;
	name: string | null;
	client_base_url: string | null;
	client_sync_path: string | null;
	client_attachment_path: string | null;
	client_auth: (Omit<TenantAuth, 'token' | 'password'> & {token?: string | null; password?: string | null}) | null;
	client_signing_secret: string | null;
	rate_limits: TenantConfig['rate_limits'];
	large_file_config: TenantConfig['large_file_config'];
	active: boolean;
	created_at: string;
	updated_at: string;
};

export function tenantInfo(tenant: Tenant): TenantInfo {
	const auth = tenant.client_auth;
	return {
		id: tenant.id,
		name: tenant.name,
		client_base_url: tenant.client_base_url,
		client_sync_path: tenant.client_sync_path,
		client_attachment_path: tenant.client_attachment_path,
		client_auth: auth ? {...auth, token: auth.token ? MASK : null, password: auth.password ? MASK : null} : null,
		client_signing_secret: tenant.client_signing_secret ? MASK : null,
		rate_limits: tenant.rate_limits,
		large_file_config: tenant.large_file_config,
		active: tenant.active,
		created_at: tenant.created_at,
		updated_at: tenant.updated_at,
	};
}

export function tenantNotFound(id: string) {
	return notFound(`Tenant '${id}' not found`);
}

/** `***` on input keeps the stored secret, so a GET → edit → PUT round trip never destroys it. */
function mergeAuth(given: TenantAuth | null | undefined, stored: TenantAuth | null): TenantAuth | null {
	if (!given) {
		return null;
	}

	const keep = (value: string | null | undefined, old: string | null | undefined) => (value === MASK ? old ?? null : value ?? null);
	return {...given, token: keep(given.token, stored?.token), password: keep(given.password, stored?.password)};
}

function mergeSecret(given: string | null | undefined, stored: string | null): string | null {
	if (given === MASK) {
		return stored;
	}

	return given ? given : null;
}

export function getTenant(store: Store, id: string): Tenant {
	const tenant = store.tenants.get(id);
	if (!tenant) {
		throw tenantNotFound(id);
	}

	return tenant;
}

export function listTenants(store: Store, options: {activeOnly?: boolean} = {}): TenantInfo[] {
	return store.tenants.list(options.activeOnly).map(tenant => tenantInfo(tenant));
}

/** `POST /tenant`: create (returns the new API key, shown once) or replace every configuration field. */
export function addTenant({store, effects}: OpContext, input: TenantPayload): {ok: true; api_key?: string} {
	return recorded(store, {endpoint: 'addTenant', tenantId: input.id, payload: input}, () => {
		const result = store.transaction(() => {
			const existing = store.tenants.get(input.id);
			const config: TenantConfig = {
				name: input.name ?? null,
				client_base_url: input.client_base_url ?? null,
				client_sync_path: input.client_sync_path ?? null,
				client_attachment_path: input.client_attachment_path ?? null,
				client_auth: mergeAuth(input.client_auth, existing?.client_auth ?? null),
				client_signing_secret: mergeSecret(input.client_signing_secret, existing?.client_signing_secret ?? null),
				rate_limits: input.rate_limits ?? null,
				large_file_config: input.large_file_config ?? null,
				active: input.active,
			};
			const now = isoNow(store.clock);
			if (existing) {
				store.tenants.replaceConfig(input.id, config, now);
				return {ok: true as const};
			}

			const apiKey = newToken();
			store.tenants.insert(input.id, config, sha256Hex(apiKey), now);
			return {ok: true as const, api_key: apiKey};
		});
		effects?.tenantsChanged?.();
		return result;
	});
}

/**
 * `PUT /tenant/{id}`: partial update; absent or null fields are unchanged. A tenant key may send
 * `rate_limits` and `active` only with their current values (they are the admin's to change).
 */
export function updateTenant({store, effects}: OpContext, principal: Principal, id: string, input: TenantUpdate): {ok: true} {
	const tenant = getTenant(store, id);
	if (principal.kind === 'tenant') {
		const limits = input.rate_limits ? RateLimits.parse(input.rate_limits) : undefined;
		const current = tenant.rate_limits ?? {hourly: 0, daily: 0};
		if ((limits && !isDeepStrictEqual(limits, current)) || (input.active !== undefined && input.active !== null && input.active !== tenant.active)) {
			throw forbidden();
		}
	}

	return recorded(store, {endpoint: 'updateTenant', tenantId: id, payload: {id, ...input}}, () => {
		const config: TenantConfig = {
			name: input.name ?? tenant.name,
			client_base_url: input.client_base_url ?? tenant.client_base_url,
			client_sync_path: input.client_sync_path ?? tenant.client_sync_path,
			client_attachment_path: input.client_attachment_path ?? tenant.client_attachment_path,
			client_auth: input.client_auth ? mergeAuth(input.client_auth, tenant.client_auth) : tenant.client_auth,
			client_signing_secret: input.client_signing_secret === undefined || input.client_signing_secret === null ? tenant.client_signing_secret : mergeSecret(input.client_signing_secret, tenant.client_signing_secret),
			rate_limits: input.rate_limits ?? tenant.rate_limits,
			large_file_config: input.large_file_config ?? tenant.large_file_config,
			active: input.active ?? tenant.active,
		};
		const changed = Object.values(input).some(value => value !== undefined && value !== null);
		if (changed) {
			store.transaction(() => store.tenants.replaceConfig(id, config, isoNow(store.clock)));
			effects?.tenantsChanged?.();
		}

		return {ok: true as const};
	});
}

/** `DELETE /tenant/{id}`: the tenant and, by tenant_id only, everything it owns. */
export function deleteTenant({store, effects}: OpContext, id: string): {ok: true} {
	getTenant(store, id);
	return recorded(store, {endpoint: 'deleteTenant', tenantId: id, payload: {tenant_id: id}}, () => {
		const files = store.transaction(() => {
			const paths = store.largeFiles.pathsOfTenant(id);
			store.sendLog.deleteTenant(id);
			store.tenants.delete(id);
			return paths;
		});
		effects?.accountsChanged?.(id);
		for (const file of files) {
			fs.rmSync(path.dirname(file), {recursive: true, force: true});
		}

		return {ok: true as const};
	});
}

/** `POST /tenant/{id}/api-key`: a new key; the previous one stops working at once. */
export function issueApiKey({store}: OpContext, id: string): {ok: true; api_key: string} {
	getTenant(store, id);
	const apiKey = newToken();
	store.tenants.setApiKeyHash(id, sha256Hex(apiKey), isoNow(store.clock));
	return {ok: true, api_key: apiKey};
}

export function revokeApiKey({store}: OpContext, id: string): {ok: true} {
	getTenant(store, id);
	store.tenants.setApiKeyHash(id, null, isoNow(store.clock));
	return {ok: true};
}
