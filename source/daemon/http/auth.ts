import {digestsEqual, sha256} from '../../shared/crypto.js';
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
	#adminDigest: Buffer | undefined;
	#seen = '';
	#checkedAt = 0;

	constructor(private readonly store: Store, private readonly envToken: string | undefined) {}

	/**
	 * The admin token, re-read from the store when it may have changed: this connection wrote a setting
	 * (generation), or another connection (the CLI) committed (data_version, looked at when `fresh` is
	 * asked for, else at most every 100 ms).
	 */
	adminToken(fresh = false): string | undefined {
		if (this.envToken) {
			return this.envToken;
		}

		const {config} = this.store;
		const now = Date.now();
		if (!fresh && now - this.#checkedAt < 100 && this.#seen.endsWith(`:${config.generation}`)) {
			return this.#adminToken;
		}

		this.#checkedAt = now;
		const seen = `${config.dataVersion()}:${config.generation}`;
		if (seen !== this.#seen) {
			this.#seen = seen;
			const raw = config.getRaw('api_token');
			if (raw !== this.#storedRaw) {
				this.#storedRaw = raw;
				this.#adminToken = raw === undefined ? undefined : config.getSecret('api_token');
				this.#adminDigest = undefined;
			}
		}

		return this.#adminToken;
	}

	#isAdmin(presentedDigest: Buffer, fresh = false): boolean {
		const token = this.adminToken(fresh);
		if (token === undefined) {
			return false;
		}

		this.#adminDigest ??= sha256(token);
		return digestsEqual(presentedDigest, this.#adminDigest);
	}

	identify(token: string | undefined): Principal | undefined {
		if (!token) {
			return undefined;
		}

		// Compared by digest in constant time; the same digest finds a tenant key.
		const digest = sha256(token);
		if (this.#isAdmin(digest)) {
			return {kind: 'admin'};
		}

		// Not the admin token we know: maybe it was just rotated by another connection.
		const known = this.#adminToken;
		if (this.adminToken(true) !== known && this.#isAdmin(digest)) {
			return {kind: 'admin'};
		}

		const tenant = this.store.tenants.findByApiKeyHash(digest.toString('hex'));
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
