import client from 'prom-client';
import type {Store} from '../shared/db/store.js';

const SERIES_LABELS = ['tenant_id', 'tenant_name', 'account_id', 'account_name'] as const;

export type Subject = {tenantId: string; tenantName?: string | null; accountId: string};

/**
 * The Prometheus series of engine §15 on a private registry, plus process metrics. Counters are
 * pre-created at 0 for `default/...` and every existing account; a deleted account's series go away.
 */
export class Metrics {
	readonly registry = new client.Registry();
	readonly sent: client.Counter<(typeof SERIES_LABELS)[number]>;
	readonly errors: client.Counter<(typeof SERIES_LABELS)[number]>;
	readonly deferred: client.Counter<(typeof SERIES_LABELS)[number]>;
	readonly rateLimited: client.Counter<(typeof SERIES_LABELS)[number]>;
	readonly bounces: client.Counter<(typeof SERIES_LABELS)[number] | 'bounce_type'>;
	readonly reportFailures: client.Counter<'tenant_id'>;

	constructor(private readonly store: Store) {
		const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new client.Counter({name, help, labelNames, registers: [this.registry]});
		this.sent = counter('gmp_sent_total', 'Total sent emails', SERIES_LABELS);
		this.errors = counter('gmp_errors_total', 'Total send errors', SERIES_LABELS);
		this.deferred = counter('gmp_deferred_total', 'Total deferred emails', SERIES_LABELS);
		this.rateLimited = counter('gmp_rate_limited_total', 'Total rate limited occurrences', SERIES_LABELS);
		this.bounces = counter('gmp_bounces_total', 'Total bounces detected', [...SERIES_LABELS, 'bounce_type']);
		this.reportFailures = counter('gmp_report_failures_total', 'Total failed delivery-report callbacks', ['tenant_id']);
		new client.Gauge({
			name: 'gmp_pending_messages',
			help: 'Current pending messages',
			registers: [this.registry],
			collect() {
				// Counted when scraped: always current, and never a cost on the send path.
				this.set(store.messages.countPending());
			},
		});
		client.collectDefaultMetrics({register: this.registry});
		void this.syncAccounts();
	}

	labels(subject: Subject) {
		return {tenant_id: subject.tenantId, tenant_name: subject.tenantName || subject.tenantId, account_id: subject.accountId, account_name: subject.accountId};
	}

	/** Zero series for `default` and every account; the series of accounts that no longer exist removed. */
	async syncAccounts(): Promise<void> {
		const names = new Map(this.store.tenants.list().map(tenant => [tenant.id, tenant.name]));
		const wanted = [{tenant_id: 'default', tenant_name: 'default', account_id: 'default', account_name: 'default'}];
		const accounts = this.store.accounts.all();
		for (const account of accounts) {
			wanted.push(this.labels({tenantId: account.tenant_id, tenantName: names.get(account.tenant_id), accountId: account.id}));
		}

		const exists = new Set(['default\u0000default', ...accounts.map(account => `${account.tenant_id}\u0000${account.id}`)]);
		for (const metric of [this.sent, this.errors, this.deferred, this.rateLimited, this.bounces]) {
			for (const series of (await metric.get()).values) {
				const labels = series.labels as Record<string, string>;
				if (!exists.has(`${labels['tenant_id']}\u0000${labels['account_id']}`)) {
					metric.remove(labels);
				}
			}
		}

		for (const metric of [this.sent, this.errors, this.deferred, this.rateLimited]) {
			for (const labels of wanted) {
				metric.inc(labels, 0);
			}
		}
	}

	async render(): Promise<{contentType: string; text: string}> {
		return {contentType: this.registry.contentType, text: await this.registry.metrics()};
	}
}
