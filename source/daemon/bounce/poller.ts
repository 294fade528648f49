import {epochSeconds} from '../../shared/clock.js';
import type {InstanceSettings} from '../../shared/db/instance.js';
import {recordBounce, type RecordedBounce} from '../../shared/operations/mailbox-events.js';
import type {Daemon} from '../context.js';
import {PollLoop} from '../imap/poll-loop.js';
import type {Part} from '../worker.js';

/**
 * The bounce mailbox (engine §12): polled every `bounce_poll_interval` seconds when enabled; each
 * message is parsed, tied to the message it is about and recorded as `bounce` events, together with
 * the mailbox position, in one transaction. IMAP failures are logged and retried with backoff; they
 * never touch delivery. `reload-bounce` restarts it from the stored configuration.
 */
export class BouncePoller implements Part {
	readonly name = 'bounce';
	#loop: PollLoop | undefined;
	readonly #onReload = () => void this.#restart();
	readonly #onRunNow = () => void this.#loop?.runOnce();

	constructor(private readonly daemon: Daemon) {}

	start(): void {
		this.daemon.bus.on('bounce-config-changed', this.#onReload);
		if (this.daemon.config.testMode) {
			this.daemon.bus.on('run-now', this.#onRunNow);
		}

		this.#begin();
	}

	#begin(): void {
		const settings = this.daemon.store.instance.get();
		if (!settings.bounce_enabled || !settings.bounce_imap_host) {
			this.#loop = undefined;
			return;
		}

		const log = this.daemon.log.child('bounce');
		this.#loop = new PollLoop('bounce mailbox poll', async () => this.#poll(), () => this.daemon.store.instance.get().bounce_poll_interval * 1000, log, this.daemon.config.testMode);
		this.#loop.start();
		log.info(`watching ${settings.bounce_imap_user ?? ''}@${settings.bounce_imap_host}:${settings.bounce_imap_port}/${settings.bounce_imap_folder} every ${settings.bounce_poll_interval} s`);
	}

	async #restart(): Promise<void> {
		await this.#loop?.stop();
		this.#begin();
	}

	async #poll(): Promise<void> {
		// IMAP and mail parsing load only for an instance that watches a mailbox (memory stays low otherwise).
		const [{parseBounce}, {readNewMessages}] = await Promise.all([import('../../shared/bounce/parser.js'), import('../imap/mailbox.js')]);
		const {store, metrics, bus} = this.daemon;
		const settings: InstanceSettings = store.instance.get();
		const log = this.daemon.log.child('bounce');
		let written = 0;
		await readNewMessages(
			{
				host: settings.bounce_imap_host!,
				port: settings.bounce_imap_port,
				secure: settings.bounce_imap_ssl,
				user: settings.bounce_imap_user ?? '',
				password: settings.bounce_imap_password ?? '',
				folder: settings.bounce_imap_folder,
			},
			{lastUid: settings.bounce_last_uid, uidValidity: settings.bounce_uidvalidity, lastSync: settings.bounce_last_sync},
			async (message, next) => {
				const report = message.skipped ? undefined : await parseBounce(message.source);
				const recorded: RecordedBounce[] = await store.write(() => {
					const events = report?.is_bounce ? recordBounce(store, report, epochSeconds(this.daemon.clock)) : [];
					store.instance.setPollState(next);
					return events;
				});
				if (report?.is_bounce && recorded.length === 0) {
					log.info(`uid ${message.uid}: bounce for ${report.recipients.map(item => item.recipient).join(', ')} matches no message (or was recorded already)`);
				}

				for (const bounce of recorded) {
					metrics.bounces.inc({...metrics.labels({tenantId: bounce.tenantId, accountId: bounce.accountId ?? 'default', tenantName: store.tenants.get(bounce.tenantId)?.name}), bounce_type: bounce.type});
				}

				written += recorded.length;
			},
			log,
		);
		if (written > 0) {
			bus.emit('events-written');
		}
	}

	async stop(): Promise<void> {
		this.daemon.bus.off('bounce-config-changed', this.#onReload);
		this.daemon.bus.off('run-now', this.#onRunNow);
		await this.#loop?.stop();
	}
}
