import type {Store} from '../../shared/db/store.js';

export type Window = 'minute' | 'hour' | 'day';
export type Hit = {scope: 'account' | 'tenant'; window: Window; until: number};

const SPAN: Record<Window, number> = {minute: 60, hour: 3600, day: 86_400};

/** Start of the fixed, UTC-aligned window holding `ts`. */
export function windowStart(ts: number, window: Window): number {
	return ts - (ts % SPAN[window]);
}

export type Limits = {
	tenantId: string;
	accountId: string;
	account: {minute: number | null; hour: number | null; day: number | null};
	tenant: {hour: number | null; day: number | null};
};

type Counter = {start: number; count: number};

/** Slots held by one attempt, each in its own window: committed on success, released on failure. */
export type Reservation = {keys: string[]};

/**
 * Fixed-window rate limits (engine §8): account minute → hour → day, then tenant hour → day; the first
 * hit decides. A count is the sends stored in `send_log` since the window start plus the in-flight
 * reservations of this process in that window. Counts are read from the store once per window and then
 * kept in memory (one worker per database), so a check costs no query in the steady state.
 * Check-and-reserve is one synchronous step, so it is atomic within the process.
 */
export class RateLimiter {
	readonly #counters = new Map<string, Counter>();
	readonly #reserved = new Map<string, number>();

	constructor(private readonly store: Store) {}

	/** Reserves a slot in every limited window, or returns the first limit hit. */
	reserve(limits: Limits, now: number): {hit: Hit} | {reservation: Reservation} {
		const checks = this.#checks(limits);
		for (const check of checks) {
			const start = windowStart(now, check.window);
			const used = this.#count(check.counterKey, limits, check.scope, start) + (this.#reserved.get(`${check.counterKey}\u0000${start}`) ?? 0);
			if (used >= check.limit) {
				return {hit: {scope: check.scope, window: check.window, until: start + SPAN[check.window]}};
			}
		}

		const keys = checks.map(check => `${check.counterKey}\u0000${windowStart(now, check.window)}`);
		for (const key of keys) {
			this.#reserved.set(key, (this.#reserved.get(key) ?? 0) + 1);
		}

		return {reservation: {keys}};
	}

	/** A successful send: its slots become counted sends (the send_log row is written by the caller). */
	commit(reservation: Reservation): void {
		for (const key of reservation.keys) {
			this.#unreserve(key);
			const [counterKey, start] = splitKey(key);
			const counter = this.#counters.get(counterKey);
			if (counter && counter.start === start) {
				counter.count++;
			}
		}
	}

	/** A failed attempt consumes no quota. */
	release(reservation: Reservation): void {
		for (const key of reservation.keys) {
			this.#unreserve(key);
		}
	}

	/** Forget cached counts of a tenant (an account deleted or changed). */
	forget(tenantId: string): void {
		for (const key of this.#counters.keys()) {
			if (key.startsWith(`${tenantId}\u0000`)) {
				this.#counters.delete(key);
			}
		}
	}

	#checks(limits: Limits): Array<{scope: 'account' | 'tenant'; window: Window; limit: number; counterKey: string}> {
		const all: Array<['account' | 'tenant', Window, number | null]> = [
			['account', 'minute', limits.account.minute],
			['account', 'hour', limits.account.hour],
			['account', 'day', limits.account.day],
			['tenant', 'hour', limits.tenant.hour],
			['tenant', 'day', limits.tenant.day],
		];
		return all
			.filter(([, , limit]) => limit !== null && limit > 0)
			.map(([scope, window, limit]) => ({
				scope,
				window,
				limit: limit!,
				counterKey: scope === 'account' ? `${limits.tenantId}\u0000${limits.accountId}\u0000${window}` : `${limits.tenantId}\u0000*\u0000${window}`,
			}));
	}

	#unreserve(key: string): void {
		const left = (this.#reserved.get(key) ?? 1) - 1;
		if (left <= 0) {
			this.#reserved.delete(key);
		} else {
			this.#reserved.set(key, left);
		}
	}

	#count(counterKey: string, limits: Limits, scope: 'account' | 'tenant', start: number): number {
		let counter = this.#counters.get(counterKey);
		if (!counter || counter.start !== start) {
			const count = scope === 'account' ? this.store.sendLog.countAccountSince(limits.tenantId, limits.accountId, start) : this.store.sendLog.countTenantSince(limits.tenantId, start);
			counter = {start, count};
			this.#counters.set(counterKey, counter);
		}

		return counter.count;
	}
}

function splitKey(key: string): [string, number] {
	const index = key.lastIndexOf('\u0000');
	return [key.slice(0, index), Number(key.slice(index + 1))];
}
