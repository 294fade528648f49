import {epochSeconds} from '../../shared/clock.js';
import type {EventRow} from '../../shared/db/events.js';
import type {Tenant} from '../../shared/db/tenants.js';
import {errorMessage} from '../../shared/errors.js';
import type {TenantAuth} from '../../shared/schemas/tenant.js';
import {version} from '../../shared/version.js';
import type {Daemon} from '../context.js';
import {authorizationHeader, signatureHeaders} from '../../shared/client-http.js';
import type {Part} from '../worker.js';

const MAX_ITEMS = 1000;
const MAX_PARALLEL = 4;
const POST_TIMEOUT_MS = 30_000;
const SAFETY_POLL_MS = 60_000;
/** An accelerated tenant (reply `queued > 0`) is due again at most this soon after its previous POST. */
const ACCELERATED_GAP_S = 1;

export type Target = {url: string; auth: TenantAuth | null; secret: string | null; own: boolean};

/** rest-api §3.1: the tenant's own sync URL, else the global one, else none. */
export function targetOf(tenant: Tenant, global: Daemon['config']['clientSync']): Target | undefined {
	if (tenant.client_base_url) {
		return {
			url: tenant.client_base_url.replace(/\/+$/, '') + (tenant.client_sync_path ?? '/mail-proxy/sync'),
			auth: tenant.client_auth,
			secret: tenant.client_signing_secret,
			own: true,
		};
	}

	if (global.url) {
		const auth: TenantAuth | null = global.token ? {method: 'bearer', token: global.token} : global.user ? {method: 'basic', user: global.user, password: global.password ?? ''} : null;
		return {url: global.url, auth, secret: null, own: false};
	}

	return undefined;
}

type Item = Record<string, unknown>;

/** One item per event (rest-api §3.2). */
export function reportItem(event: EventRow & {message_id: string}): Item {
	const item: Item = {id: event.message_id, tenant_id: event.tenant_id, pk: event.message_pk, event_id: event.id};
	const metadata = event.metadata ? (JSON.parse(event.metadata) as Record<string, unknown>) : {};
	switch (event.event_type) {
		case 'sent': {
			item['sent_ts'] = event.event_ts;
			break;
		}

		case 'error': {
			item['error_ts'] = event.event_ts;
			item['error'] = event.description;
			break;
		}

		case 'deferred': {
			item['deferred_ts'] = event.event_ts;
			item['deferred_reason'] = event.description ?? null;
			break;
		}

		case 'bounce': {
			item['bounce_ts'] = event.event_ts;
			item['bounce_type'] = metadata['bounce_type'] ?? null;
			item['bounce_code'] = metadata['bounce_code'] ?? null;
			item['bounce_reason'] = event.description ?? null;
			item['bounce_category'] = metadata['reason'] ?? null;
			item['bounce_recipient'] = metadata['recipient'] ?? null;
			break;
		}

		default: {
			item['pec_event'] = event.event_type;
			item['pec_ts'] = event.event_ts;
			if (event.description) {
				item['pec_details'] = event.description;
			}
		}
	}

	return item;
}

type Reply = {ok?: unknown; queued?: unknown; next_sync_after?: unknown; error?: unknown; not_found?: unknown};

/**
 * The delivery-report loop (rest-api §3, engine §11): for each tenant with unreported events (or a
 * heartbeat due), one POST per cycle to its sync URL, ≤ 1000 items, ≤ 4 tenants in parallel and one POST
 * in flight per tenant. Any 2xx acknowledges the batch; a failure puts that tenant alone in backoff
 * (5 s doubling, capped at 10 min). Do-not-disturb, heartbeats and accelerated sync follow the client's
 * replies; all of it is persisted, so it survives restarts.
 */
export class Reporter implements Part {
	readonly name = 'reporter';
	readonly #inFlight = new Set<string>();
	#running = false;
	#again = false;
	#stopping = false;
	#timer: NodeJS.Timeout | undefined;
	#poll: NodeJS.Timeout | undefined;
	#scheduled = false;
	#cycle: Promise<void> | undefined;
	readonly #listeners: Array<[string, (...args: any[]) => void]> = [];

	constructor(private readonly daemon: Daemon) {}

	start(): void {
		const {bus, config} = this.daemon;
		const on = (event: string, handler: (...args: any[]) => void) => {
			bus.on(event as 'run-now', handler);
			this.#listeners.push([event, handler]);
		};

		if (config.testMode) {
			on('run-now', () => void this.runCycle());
			return;
		}

		on('events-written', () => this.wake());
		on('run-now', () => this.wake());
		on('tenants-changed', () => this.wake());
		this.#poll = setInterval(() => this.wake(), SAFETY_POLL_MS);
		this.#poll.unref();
		this.wake();
	}

	/** Coalesces wake-ups into one cycle on the next turn of the event loop. */
	wake(): void {
		if (this.#stopping || this.#scheduled) {
			return;
		}

		if (this.#running) {
			this.#again = true;
			return;
		}

		this.#scheduled = true;
		setImmediate(() => {
			this.#scheduled = false;
			void this.runCycle();
		});
	}

	async runCycle(): Promise<void> {
		if (this.#running) {
			this.#again = true;
			await this.#cycle;
			return;
		}

		this.#running = true;
		this.#cycle = (async () => {
			try {
				do {
					this.#again = false;
					await this.#cycleOnce();
				} while (this.#again && !this.#stopping && !this.daemon.config.testMode);
			} catch (error) {
				this.daemon.log.error(`report cycle failed: ${errorMessage(error)}`);
			} finally {
				this.#running = false;
				this.#armTimer();
			}
		})();
		await this.#cycle;
	}

	async #cycleOnce(): Promise<void> {
		const {store, config} = this.daemon;
		const now = this.daemon.clock.now() / 1000;
		const pending = store.events.unreportedCounts();
		const due: Array<{tenant: Tenant; target: Target}> = [];
		for (const tenant of store.tenants.list()) {
			const target = targetOf(tenant, config.clientSync);
			if (!target || this.#inFlight.has(tenant.id) || (tenant.sync_retry_ts !== null && tenant.sync_retry_ts > now)) {
				continue;
			}

			if ((pending.get(tenant.id) ?? 0) > 0 || tenant.sync_force || this.#heartbeatDue(tenant, target, now)) {
				due.push({tenant, target});
			}
		}

		// At most 4 tenants at a time; each queue moves independently, a slow one holds up no other.
		let next = 0;
		const lanes = Array.from({length: Math.min(MAX_PARALLEL, due.length)}, async () => {
			while (next < due.length && !this.#stopping) {
				const {tenant, target} = due[next++]!;
				await this.#report(tenant, target);
			}
		});
		await Promise.all(lanes);
		if (due.length > 0) {
			this.daemon.bus.emit('reports-acknowledged');
		}
	}

	/** An active tenant with its own URL, nothing pending, outside DND, last success ≥ interval ago. */
	#heartbeatDue(tenant: Tenant, target: Target, now: number): boolean {
		if (!target.own || !tenant.active) {
			return false;
		}

		if (tenant.sync_accelerated) {
			return tenant.sync_last_ts === null || now - tenant.sync_last_ts >= ACCELERATED_GAP_S;
		}

		if (tenant.sync_dnd_until !== null && tenant.sync_dnd_until > now) {
			return false;
		}

		if (tenant.sync_dnd_until !== null) {
			// Do-not-disturb ended: a heartbeat is due at that instant.
			return tenant.sync_last_ts === null || tenant.sync_last_ts < tenant.sync_dnd_until;
		}

		return tenant.sync_last_ts === null || now - tenant.sync_last_ts >= this.daemon.config.syncIntervalMs / 1000;
	}

	async #report(tenant: Tenant, target: Target): Promise<void> {
		const {store, log, config, metrics} = this.daemon;
		this.#inFlight.add(tenant.id);
		try {
			const events = store.events.unreportedOf(tenant.id, MAX_ITEMS);
			const body = JSON.stringify({delivery_report: events.map(event => reportItem(event))});
			const headers: Record<string, string> = {
				'Content-Type': 'application/json',
				'User-Agent': `mail-proxy/${version}`,
				...authorizationHeader(target.auth),
				...(target.own ? signatureHeaders(target.secret, body, epochSeconds(this.daemon.clock)) : {}),
			};
			let reply: Reply | undefined;
			let failure: string | undefined;
			try {
				const response = await fetch(target.url, {method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(POST_TIMEOUT_MS)});
				const text = await response.text();
				if (response.status >= 200 && response.status < 300) {
					try {
						reply = JSON.parse(text) as Reply;
					} catch {
						log.warn(`report to tenant '${tenant.id}': the reply is not JSON (acknowledged anyway)`);
						reply = {};
					}
				} else {
					failure = `HTTP ${response.status}`;
				}
			} catch (error) {
				failure = (error as Error).name === 'TimeoutError' ? 'timeout' : errorMessage((error as Error & {cause?: Error}).cause ?? error);
			}

			const now = this.daemon.clock.now() / 1000;
			if (failure !== undefined) {
				const failures = tenant.sync_failures + 1;
				const delay = Math.min(config.reportBackoffBaseMs * 2 ** (failures - 1), config.reportBackoffMaxMs) / 1000;
				await store.write(() => store.tenants.syncFailed(tenant.id, failures, now + delay));
				metrics.reportFailures.inc({tenant_id: tenant.id});
				log.warn(`report to tenant '${tenant.id}' failed (${failure}); attempt ${failures}, next in ${delay.toFixed(1)} s`);
				return;
			}

			const queued = Number(reply!.queued ?? 0);
			const next = Number(reply!.next_sync_after);
			const dndUntil = Number.isFinite(next) && next > now ? next : null;
			await store.write(() => {
				store.events.acknowledge(
					events.map(event => event.id),
					Math.floor(now),
				);
				store.tenants.syncSucceeded(tenant.id, {at: now, dndUntil, accelerated: queued > 0});
			});
			if (reply!.ok === false) {
				log.warn(`report to tenant '${tenant.id}': the client answered ok=false`);
			}

			for (const key of ['error', 'not_found'] as const) {
				const ids = reply![key];
				if (Array.isArray(ids) && ids.length > 0) {
					log.info(`report to tenant '${tenant.id}': ${ids.length} id(s) in ${key} (${ids.slice(0, 5).join(', ')})`);
				}
			}

			if (config.logDeliveryActivity) {
				log.info(`reported ${events.length} event(s) to tenant '${tenant.id}'${queued > 0 ? `, client has ${queued} queued` : ''}`);
			}

			// More than one POST's worth waiting, or the client asked to be called back: another cycle.
			if (events.length === MAX_ITEMS || queued > 0) {
				this.#again = true;
			}
		} finally {
			this.#inFlight.delete(tenant.id);
		}
	}

	/** Armed at the nearest heartbeat, backoff end, DND end or accelerated re-sync. */
	#armTimer(): void {
		clearTimeout(this.#timer);
		if (this.#stopping || this.daemon.config.testMode) {
			return;
		}

		const {store, config} = this.daemon;
		const now = this.daemon.clock.now() / 1000;
		const interval = config.syncIntervalMs / 1000;
		let nearest = Number.POSITIVE_INFINITY;
		for (const tenant of store.tenants.list()) {
			const target = targetOf(tenant, config.clientSync);
			if (!target) {
				continue;
			}

			if (tenant.sync_retry_ts !== null && tenant.sync_retry_ts > now) {
				nearest = Math.min(nearest, tenant.sync_retry_ts);
				continue;
			}

			if (target.own && tenant.active) {
				if (tenant.sync_accelerated) {
					nearest = Math.min(nearest, (tenant.sync_last_ts ?? now) + ACCELERATED_GAP_S);
				} else if (tenant.sync_dnd_until !== null && tenant.sync_dnd_until > now) {
					nearest = Math.min(nearest, tenant.sync_dnd_until);
				} else {
					nearest = Math.min(nearest, (tenant.sync_last_ts ?? now) + interval);
				}
			}
		}

		if (Number.isFinite(nearest)) {
			const delay = Math.max(0, nearest - now) * 1000 + 10;
			this.#timer = setTimeout(() => this.wake(), Math.min(delay, 2_147_483_647));
			this.#timer.unref();
		}
	}

	async stop(): Promise<void> {
		this.#stopping = true;
		clearTimeout(this.#timer);
		clearInterval(this.#poll);
		for (const [event, handler] of this.#listeners) {
			this.daemon.bus.off(event as 'run-now', handler);
		}

		await this.#cycle;
	}
}
