import os from 'node:os';
import {epochSeconds} from '../../shared/clock.js';
import type {Account} from '../../shared/db/accounts.js';
import type {ClaimedMessage} from '../../shared/db/messages.js';
import type {Tenant} from '../../shared/db/tenants.js';
import {errorMessage} from '../../shared/errors.js';
import {randomBase62} from '../../shared/ids.js';
import {parseAddresses} from '../../shared/message-rules.js';
import {openAttachmentSecrets, type StoredMessage} from '../../shared/operations/enqueue.js';
import {attachmentBaseDir} from '../../shared/operations/instance-settings.js';
import type {Daemon} from '../context.js';
import type {Metrics} from '../metrics.js';
import type {Part} from '../worker.js';
import {AttachmentCache, AttachmentFetcher} from './attachments.js';
import {buildMessage, compose, envelopeSender, prepareRaw} from './mime.js';
import {RateLimiter, type Limits} from './rate-limit.js';
import {classify, DeliveryError, failureText, retryDelay} from './retry.js';
import {SmtpPool} from './smtp-pool.js';

const MAX_SENDS = 10;
const MAX_SENDS_PER_ACCOUNT = 3;
/**
 * Sends transmitted or transmitting whose outcome is not yet on disk: what a crash can make the next
 * worker send again. Sends run while earlier outcomes commit, but never more than this.
 */
const MAX_UNCONFIRMED = 2 * MAX_SENDS;
const SEND_TIMEOUT_MS = 30_000;
const LEASE_RENEW_MS = 30_000;
/** Claim more once the claimed-but-not-started queue is this short, so sending never stalls between cycles. */
const REFILL_BELOW = MAX_SENDS;

type Prepared = {envelope: {from: string; to: string[]}; raw: Buffer};

type Work = ClaimedMessage & {accountKey: string; prepared?: Promise<Prepared>};

/** Messages composed ahead per account while its send slots are busy. */
const PREPARE_AHEAD = MAX_SENDS_PER_ACCOUNT;

type CycleSettings = {retryDelays: number[]; maxRetries: number; bounceReturnPath: string | null; attachmentBaseDir: string | null};

/**
 * The dispatcher (engine §4): claims ready messages with a lease — immediate lane first, then by
 * priority and arrival, at most `batch_size` per account — and sends them concurrently (≤ 10 per
 * daemon, ≤ 3 per account). Woken by enqueues and run-now, by a timer at the nearest deferral, pause
 * end or lease expiry, and by a slow safety poll; in test mode only run-now runs a cycle.
 */
export class Dispatcher implements Part {
	readonly name = 'dispatcher';
	readonly owner = `${os.hostname()}:${process.pid}:${randomBase62(8)}`;
	readonly #queue: Work[] = [];
	readonly #active = new Map<string, Work>();
	readonly #perAccount = new Map<string, number>();
	readonly #claimed = new Map<string, number>();
	readonly #paused = new Map<string, number>();
	readonly #pool = new SmtpPool();
	readonly #limiter: RateLimiter;
	readonly #cache: AttachmentCache;
	readonly #fetcher: AttachmentFetcher;
	#running = false;
	#again = false;
	#stopping = false;
	#timer: NodeJS.Timeout | undefined;
	#poll: NodeJS.Timeout | undefined;
	#renew: NodeJS.Timeout | undefined;
	#sweep: NodeJS.Timeout | undefined;
	#settings: CycleSettings | undefined;
	#idleWaiters: Array<() => void> = [];
	/** Sends finished since the last claim pass. */
	#finished = 0;
	/** Outcome writes still committing: a send slot is freed when SMTP is done, not when its outcome is on disk. */
	readonly #outcomes = new Set<Promise<unknown>>();
	/** Accounts and tenants read once per claim pass (credentials decrypted once, not per message). */
	#accounts = new Map<string, Account>();
	#tenants = new Map<string, Tenant>();
	readonly #listeners: Array<[string, (...args: any[]) => void]> = [];

	constructor(private readonly daemon: Daemon, private readonly metrics: Metrics, private readonly random: () => number = Math.random) {
		this.#limiter = new RateLimiter(daemon.store);
		this.#cache = new AttachmentCache(daemon.config.cache);
		this.#fetcher = new AttachmentFetcher(daemon.config, this.#cache, daemon.log.child('attachments'), () => epochSeconds(daemon.clock));
	}

	start(): void {
		const {store, bus, config, log} = this.daemon;
		const released = store.messages.releaseAllLeases();
		if (released > 0) {
			log.info(`released ${released} lease(s) left by a previous worker`);
		}

		const on = (event: string, handler: (...args: any[]) => void) => {
			bus.on(event as 'run-now', handler);
			this.#listeners.push([event, handler]);
		};

		on('messages-ready', () => this.wake());
		on('tenants-changed', () => this.wake());
		on('run-now', () => (config.testMode ? void this.runCycle() : this.wake()));
		on('accounts-changed', (tenantId: string, accountId?: string) => {
			this.#pool.drop(tenantId, accountId);
			this.#limiter.forget(tenantId);
			void this.metrics.syncAccounts();
		});
		this.#renew = setInterval(() => this.#renewLeases(), LEASE_RENEW_MS);
		this.#sweep = setInterval(() => this.#cache.sweep(), 60_000);
		this.#renew.unref();
		this.#sweep.unref();
		if (!config.testMode) {
			this.#poll = setInterval(() => this.wake(), config.sendLoopIntervalMs);
			this.#poll.unref();
			this.wake();
		}
	}

	/** Starts a cycle now; a wake during a cycle claims the immediate lane at once and cycles again after. */
	wake(): void {
		if (this.#stopping || this.daemon.config.testMode) {
			return;
		}

		if (this.#running) {
			this.#again = true;
			this.#claimPass(true);
			this.#notify();
			return;
		}

		void this.#loop();
	}

	/** One cycle: claim, then send everything claimed (test mode: exactly one per run-now). */
	async runCycle(): Promise<void> {
		if (this.#running) {
			await this.#whenIdle();
		}

		this.#running = true;
		try {
			this.#claimPass(false);
			await this.#whenIdle();
		} finally {
			this.#running = false;
		}
	}

	async #loop(): Promise<void> {
		this.#running = true;
		clearTimeout(this.#timer);
		try {
			while (!this.#stopping) {
				this.#again = false;
				this.#finished = 0;
				const capped = this.#claimPass(false);
				if (capped) {
					// Some account had more ready than its batch size: claim again once sends have freed room
					// and the claimed queue runs short, so sending never stalls between cycles.
					await this.#until(() => this.#stopping || (this.#finished > 0 && this.#queue.length < REFILL_BELOW));
					continue;
				}

				// Everything ready is claimed: wait for it to be sent, or for a wake asking for another pass.
				await this.#until(() => this.#stopping || this.#again || (this.#queue.length === 0 && this.#active.size === 0));
				if (!this.#again) {
					break;
				}
			}
		} catch (error) {
			this.daemon.log.error(`dispatch cycle failed: ${errorMessage(error)}`);
		} finally {
			this.#running = false;
		}

		this.#armTimer();
	}

	/** Claims ready messages of every sendable account; true when an account was capped at its batch size. */
	#claimPass(immediateOnly: boolean): boolean {
		const {store, config, clock} = this.daemon;
		const now = epochSeconds(clock);
		let capped = false;
		try {
			if (!immediateOnly) {
				store.messages.promoteDue(now);
				const instance = store.instance.get();
				this.#settings = {
					retryDelays: instance.retry_delays,
					maxRetries: instance.max_retries,
					bounceReturnPath: instance.bounce_return_path,
					attachmentBaseDir: attachmentBaseDir(store, config.attachmentBaseDir),
				};
			}

			const tenants = new Map(store.tenants.list().map(tenant => [tenant.id, tenant]));
			if (!immediateOnly) {
				this.#tenants = tenants;
				this.#accounts = new Map(store.accounts.all().map(account => [`${account.tenant_id}\u0000${account.id}`, account]));
			}

			const claimed: Work[] = [];
			for (const account of store.accounts.dispatchList()) {
				const tenant = tenants.get(account.tenant_id);
				const suspended = tenant?.suspended_batches?.split(',') ?? [];
				if (!tenant || !tenant.active || suspended.includes('*') || this.#isPaused(account.tenant_id, account.id, now)) {
					continue;
				}

				const accountKey = `${account.tenant_id}\u0000${account.id}`;
				const room = (account.batch_size ?? config.batchSizePerAccount) - (this.#claimed.get(accountKey) ?? 0);
				if (room <= 0) {
					capped = true;
					continue;
				}

				const ready = store.messages.readyOf(account.tenant_id, account.id, now, suspended, room, immediateOnly);
				if (ready.length === 0) {
					continue;
				}

				if (ready.length === room) {
					capped = true;
				}

				const rows = store.transaction(() => store.messages.claim(ready, this.owner, now + config.leaseSeconds, now));
				for (const row of rows) {
					claimed.push({...row, accountKey});
					this.#claimed.set(accountKey, (this.#claimed.get(accountKey) ?? 0) + 1);
				}
			}

			if (claimed.length > 0) {
				this.#queue.push(...claimed);
				// Immediate lane first, then priority, FIFO within.
				this.#queue.sort((a, b) => a.priority - b.priority || (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.pk < b.pk ? -1 : 1));
				this.#pump();
			}
		} catch (error) {
			this.daemon.log.error(`dispatch claim failed: ${errorMessage(error)}`);
		}

		return capped;
	}

	/** Hands claimed messages that have not started back (lease released, no event). */
	async #unclaim(matches: (work: Work) => boolean): Promise<void> {
		const released: Work[] = [];
		for (let index = this.#queue.length - 1; index >= 0; index--) {
			if (matches(this.#queue[index]!)) {
				released.push(...this.#queue.splice(index, 1));
			}
		}

		if (released.length === 0) {
			return;
		}

		for (const work of released) {
			this.#claimed.set(work.accountKey, (this.#claimed.get(work.accountKey) ?? 1) - 1);
		}

		const {store} = this.daemon;
		await store.write(() => store.messages.releaseLeases(released.map(work => work.pk), this.owner));
		this.#notify();
	}

	#isPaused(tenantId: string, accountId: string, now: number): boolean {
		for (const key of [`a:${tenantId}\u0000${accountId}`, `t:${tenantId}`]) {
			const until = this.#paused.get(key);
			if (until !== undefined) {
				if (until > now) {
					return true;
				}

				this.#paused.delete(key);
			}
		}

		return false;
	}

	/** Starts queued sends while slots are free (≤ 10 in all, ≤ 3 per account, ≤ 20 unconfirmed). */
	#pump(): void {
		if (this.#stopping) {
			return;
		}

		for (let index = 0; index < this.#queue.length && this.#active.size < MAX_SENDS && this.#active.size + this.#outcomes.size < MAX_UNCONFIRMED; ) {
			const work = this.#queue[index]!;
			if ((this.#perAccount.get(work.accountKey) ?? 0) >= MAX_SENDS_PER_ACCOUNT) {
				index++;
				continue;
			}

			this.#queue.splice(index, 1);
			this.#active.set(work.pk, work);
			this.#perAccount.set(work.accountKey, (this.#perAccount.get(work.accountKey) ?? 0) + 1);
			void this.#process(work).finally(() => {
				this.#active.delete(work.pk);
				this.#perAccount.set(work.accountKey, (this.#perAccount.get(work.accountKey) ?? 1) - 1);
				this.#claimed.set(work.accountKey, (this.#claimed.get(work.accountKey) ?? 1) - 1);
				this.#finished++;
				this.#pump();
				this.#notify();
			});
		}

		this.#prepareAhead();
	}

	/** Composes the next queued messages of each account ahead of their turn. */
	#prepareAhead(): void {
		const ahead = new Map<string, number>();
		for (const work of this.#queue) {
			const count = ahead.get(work.accountKey) ?? 0;
			if (count >= PREPARE_AHEAD) {
				continue;
			}

			ahead.set(work.accountKey, count + 1);
			if (!work.prepared) {
				work.prepared = this.#prepare(work);
				// Failures surface when the message's turn comes.
				work.prepared.catch(() => {});
			}
		}
	}

	/** The message as it goes on the wire: MIME composed (attachments fetched), or a raw file adjusted. */
	async #prepare(work: Work): Promise<Prepared> {
		const {store} = this.daemon;
		const settings = this.#settings!;
		const tenant = this.#tenants.get(work.tenant_id) ?? store.tenants.get(work.tenant_id);
		const message = openAttachmentSecrets(JSON.parse(work.payload) as StoredMessage, store.secrets);
		const sendTime = new Date(this.daemon.clock.now());
		if (message.raw) {
			const from = envelopeSender(message, settings.bounceReturnPath);
			return {envelope: {from, to: message.to}, raw: prepareRaw(Buffer.from(message.raw, 'base64'), message.id, work.pk, parseAddresses(message.from)[0]!.address, sendTime)};
		}

		const attachments = message.attachments?.length && tenant ? await this.#fetcher.resolve(message.attachments, {tenant, attachmentBaseDir: settings.attachmentBaseDir}) : [];
		const built = buildMessage(work.pk, message, settings.bounceReturnPath, attachments, sendTime);
		return {envelope: built.envelope as Prepared['envelope'], raw: await compose(built)};
	}

	#notify(): void {
		const waiters = this.#idleWaiters;
		this.#idleWaiters = [];
		for (const waiter of waiters) {
			waiter();
		}
	}

	async #until(condition: () => boolean): Promise<void> {
		while (!condition()) {
			await new Promise<void>(resolve => this.#idleWaiters.push(resolve));
		}
	}

	async #whenIdle(): Promise<void> {
		await this.#until(() => this.#queue.length === 0 && this.#active.size === 0);
	}

	#armTimer(): void {
		clearTimeout(this.#timer);
		if (this.#stopping || this.daemon.config.testMode) {
			return;
		}

		const {due, lease} = this.daemon.store.messages.nextWake();
		const candidates = [due, lease, ...this.#paused.values()].filter((value): value is number => value !== null && value !== undefined);
		if (candidates.length === 0) {
			return;
		}

		const delay = Math.max(0, Math.min(...candidates) * 1000 - this.daemon.clock.now());
		this.#timer = setTimeout(() => this.wake(), Math.min(delay + 5, 2_147_483_647));
		this.#timer.unref();
	}

	#renewLeases(): void {
		const pks = [...this.#active.keys(), ...this.#queue.map(work => work.pk)];
		if (pks.length === 0) {
			return;
		}

		const {store, config, clock} = this.daemon;
		try {
			store.transaction(() => store.messages.renewLeases(pks, this.owner, epochSeconds(clock) + config.leaseSeconds));
		} catch (error) {
			this.daemon.log.warn(`lease renewal failed: ${errorMessage(error)}`);
		}
	}

	/** The per-message pipeline of engine §4.5. */
	async #process(work: Work): Promise<void> {
		const {store, log, config} = this.daemon;
		const settings = this.#settings!;
		const account = this.#accounts.get(work.accountKey) ?? store.accounts.get(work.tenant_id, work.account_id ?? '');
		const tenant = this.#tenants.get(work.tenant_id) ?? store.tenants.get(work.tenant_id);
		const subject = {tenantId: work.tenant_id, tenantName: tenant?.name, accountId: work.account_id ?? 'default'};
		if (!account || !tenant) {
			await this.#fail(work, new DeliveryError('Missing SMTP account configuration', false), subject, settings);
			return;
		}

		const limits = limitsOf(account, tenant);
		const now = epochSeconds(this.daemon.clock);
		const reserved = this.#limiter.reserve(limits, now);
		if ('hit' in reserved) {
			const {hit} = reserved;
			this.metrics.rateLimited.inc(this.metrics.labels(subject));
			if (account.limit_behavior === 'reject') {
				await this.#fail(work, new DeliveryError('rate_limit_exceeded', false), subject, settings);
				return;
			}

			// Defer this message to the window boundary and pause the account (or every account of the
			// tenant) until then: its other ready messages are not claimed and get no event — those
			// already claimed but not started go back to the queue untouched.
			this.#paused.set(hit.scope === 'account' ? `a:${account.tenant_id}\u0000${account.id}` : `t:${tenant.id}`, hit.until);
			await this.#unclaim(other => other.tenant_id === tenant.id && (hit.scope === 'tenant' || other.account_id === account.id));
			const reason = `rate_limit_exceeded: ${hit.scope} ${hit.window}`;
			const written = await store.write(() => {
				if (!store.messages.deferForLimit(work.pk, hit.until, now, this.owner)) {
					return false;
				}

				store.events.insert({messagePk: work.pk, tenantId: work.tenant_id, type: 'deferred', ts: hit.until, description: reason, metadata: {kind: 'rate_limit'}});
				return true;
			});
			if (written) {
				this.metrics.deferred.inc(this.metrics.labels(subject));
				this.daemon.bus.emit('events-written');
			}

			if (config.logDeliveryActivity) {
				log.info(`message ${work.tenant_id}/${work.id} deferred until ${hit.until}: ${reason}`);
			}

			return;
		}

		try {
			const mail = await (work.prepared ??= this.#prepare(work));
			if (config.logDeliveryActivity) {
				log.info(`sending ${work.tenant_id}/${work.id} via ${account.id} to ${mail.envelope.to.join(', ').slice(0, 200)}`);
			}

			const info = await withTimeout(this.#pool.transportFor(account).sendMail(mail), SEND_TIMEOUT_MS);
			const sentAt = epochSeconds(this.daemon.clock);
			const rejected = ((info as {rejectedErrors?: Array<{recipient?: string; responseCode?: number; response?: string}>}).rejectedErrors ?? []).map(item => ({
				address: item.recipient ?? '',
				code: item.responseCode ?? null,
				response: item.response ?? null,
			}));
			this.#limiter.commit(reserved.reservation);
			this.#record(
				() => {
					if (!store.messages.markSent(work.pk, sentAt, this.owner)) {
						return false;
					}

					store.events.insert({messagePk: work.pk, tenantId: work.tenant_id, type: 'sent', ts: sentAt, metadata: {response: info.response, accepted: info.accepted, rejected}});
					store.sendLog.insert(work.tenant_id, account.id, sentAt);
					return true;
				},
				() => this.metrics.sent.inc(this.metrics.labels(subject)),
			);

			if (config.logDeliveryActivity) {
				log.info(`sent ${work.tenant_id}/${work.id}: ${info.response}`);
			}
		} catch (error) {
			this.#limiter.release(reserved.reservation);
			await this.#fail(work, error, subject, settings);
		}
	}

	/**
	 * Writes an outcome durably (group commit) without holding a send slot; `then` runs once it is on
	 * disk and applied. The message keeps its lease until then, and shutdown waits for these writes.
	 */
	#record(write: () => boolean, then: () => void): void {
		const {store, log, bus} = this.daemon;
		const pending = store.write(write).then(
			written => {
				if (written) {
					then();
					bus.emit('events-written');
				}
			},
			error => log.error(`recording a delivery outcome failed: ${errorMessage(error)}`),
		);
		this.#outcomes.add(pending);
		void pending.finally(() => {
			this.#outcomes.delete(pending);
			if (this.#queue.length > 0) {
				this.#pump();
			}
		});
	}

	/** A failed attempt: retried on the schedule while temporary and retries are left, else an error. */
	async #fail(work: Work, error: unknown, subject: {tenantId: string; tenantName?: string | null; accountId: string}, settings: CycleSettings): Promise<void> {
		const {store, log, config} = this.daemon;
		const failure = classify(error);
		const now = epochSeconds(this.daemon.clock);
		const retry = failure.temporary && work.retry_count < settings.maxRetries;
		let written: boolean;
		if (retry) {
			const until = now + retryDelay(settings.retryDelays, work.retry_count, this.random);
			written = await store.write(() => {
				if (!store.messages.deferRetry(work.pk, until, now, this.owner)) {
					return false;
				}

				store.events.insert({messagePk: work.pk, tenantId: work.tenant_id, type: 'deferred', ts: until, description: failureText(failure), metadata: {kind: 'retry', attempt: work.retry_count + 1, ...(failure.code === undefined ? {} : {code: failure.code})}});
				return true;
			});
			if (written) {
				this.metrics.deferred.inc(this.metrics.labels(subject));
			}
		} else {
			const text = failure.temporary ? `Max retries (${settings.maxRetries}) exceeded: ${failureText(failure)}` : failureText(failure);
			written = await store.write(() => {
				if (!store.messages.markFailed(work.pk, now, this.owner)) {
					return false;
				}

				store.events.insert({messagePk: work.pk, tenantId: work.tenant_id, type: 'error', ts: now, description: text, metadata: failure.code === undefined ? {} : {code: failure.code}});
				return true;
			});
			if (written) {
				this.metrics.errors.inc(this.metrics.labels(subject));
			}
		}

		if (written) {
			this.daemon.bus.emit('events-written');
		}

		if (config.logDeliveryActivity || !retry) {
			log.info(`message ${work.tenant_id}/${work.id} ${retry ? 'deferred' : 'failed'}: ${failureText(failure)}`);
		}
	}

	async stop(): Promise<void> {
		this.#stopping = true;
		clearTimeout(this.#timer);
		clearInterval(this.#poll);
		clearInterval(this.#renew);
		clearInterval(this.#sweep);
		for (const [event, handler] of this.#listeners) {
			this.daemon.bus.off(event as 'run-now', handler);
		}

		// Claimed but not started: back to the queue at once. Sends in flight finish (the worker bounds
		// the wait to 10 s; those still running then keep their lease).
		const waiting = this.#queue.splice(0).map(work => work.pk);
		if (waiting.length > 0) {
			const {store} = this.daemon;
			await store.write(() => store.messages.releaseLeases(waiting, this.owner));
		}

		this.#notify();
		await this.#until(() => this.#active.size === 0);
		await Promise.all([...this.#outcomes]);
		this.#pool.close();
	}
}

function limitsOf(account: Account, tenant: Tenant): Limits {
	return {
		tenantId: tenant.id,
		accountId: account.id,
		account: {minute: account.limit_per_minute, hour: account.limit_per_hour, day: account.limit_per_day},
		tenant: {hour: tenant.rate_limits?.hourly || null, day: tenant.rate_limits?.daily || null},
	};
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new DeliveryError('send timeout', true)), ms);
	});
	try {
		return await Promise.race([promise, timeout]);
	} finally {
		clearTimeout(timer);
	}
}
