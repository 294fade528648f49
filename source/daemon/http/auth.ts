import {sha256Hex, tokensEqual} from '../../shared/crypto.js';
import {forbidden, unauthorized, usageError} from '../../shared/errors.js';
import type {Store} from '../../shared/db/store.js';
import type {Principal} from '../../shared/principal.js';
import {epochSeconds} from '../../shared/clock.js';

export type RouteClass = 'public' | 'auth' | 'tenant' | 'admin';

/**
 * Resolves the X-API-Token of a request to a principal. The admin token is read from the store on
 * each request (cheaply: decrypted only when its stored form changes), so `token --regenerate` and
 * `PUT /instance {api_token}` take effect without a restart; GMP_API_TOKEN, when set, is the only one.
 */
export class Authenticator {
	#storedRaw: string | undefined;
	#adminToken: string | undefined;

	constructor(private readonly store: Store, private readonly envToken: string | undefined) {}

	adminToken(): string | undefined {
		if (this.envToken) {
			return this.envToken;
		}

		const raw = this.store.config.getRaw('api_token');
		if (raw !== this.#storedRaw) {
			this.#storedRaw = raw;
			this.#adminToken = raw === undefined ? undefined : this.store.config.getSecret('api_token');
		}

		return this.#adminToken;
	}

	identify(token: string | undefined): Principal | undefined {
		if (!token) {
			return undefined;
		}

		const admin = this.adminToken();
		if (admin !== undefined && tokensEqual(token, admin)) {
			return {kind: 'admin'};
		}

		const tenant = this.store.tenants.findByApiKeyHash(sha256Hex(token));
		if (tenant && (tenant.api_key_expires_at === null || tenant.api_key_expires_at > epochSeconds(this.store.clock))) {
			return {kind: 'tenant', tenantId: tenant.id};
		}

		return undefined;
	}

	/** Applies a route class (rest-api §1.2) and returns the caller, or throws 401/403. */
	authorize(routeClass: RouteClass, token: string | undefined): Principal | undefined {
		if (routeClass === 'public') {
			return undefined;
		}

		const principal = this.identify(token);
		if (routeClass === 'admin') {
			if (!token) {
				throw unauthorized('Admin token required');
			}

			if (!principal) {
				throw unauthorized('Invalid or missing API token');
			}

			if (principal.kind !== 'admin') {
				throw forbidden();
			}

			return principal;
		}

		if (!principal) {
			throw unauthorized('Invalid or missing API token');
		}

		return principal;
	}
}

/**
 * Tenant resolution of rest-api §1.2: a tenant key defaults to (and may only name) its own tenant; the
 * admin must name one (422 when absent).
 */
export function scopeTenant(principal: Principal, value: string | null | undefined, loc: ['query' | 'body' | 'path', string]): string {
	if (principal.kind === 'tenant') {
		if (value === undefined || value === null || value === '') {
			return principal.tenantId;
		}

		if (value !== principal.tenantId) {
			throw unauthorized('Token not authorized for this tenant');
		}

		return value;
	}

	if (value === undefined || value === null) {
		throw usageError(`${loc[1]}: Field required`, [{type: 'missing', loc, msg: 'Field required'}]);
	}

	return value;
}
