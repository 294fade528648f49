import {epochSeconds} from '../../shared/clock.js';
import type {Account} from '../../shared/db/accounts.js';
import {errorMessage} from '../../shared/errors.js';
import {expirePec, recordReceipt} from '../../shared/operations/mailbox-events.js';
import type {Daemon} from '../context.js';
import {PollLoop} from '../imap/poll-loop.js';
import type {Part} from '../worker.js';

/**
 * PEC receipts (engine §13): every PEC account with an IMAP host is polled on its own (one failing
 * account does not stop the others); receipts become `pec_*` events of the message they are about.
 * After every cycle — even when IMAP is unreachable — sent PEC messages without an acceptance within
 * the timeout get `pec_timeout` and are treated as normal mail.
 */
export class PecPoller implements Part {
	readonly name = 'pec';
	#loop: PollLoop | undefined;
	readonly #onRunNow = () => void this.#loop?.runOnce();

	constructor(private readonly daemon: Daemon) {}

	start(): void {
		const {config, log, bus} = this.daemon;
		this.#loop = new PollLoop('PEC poll', async () => this.#cycle(), () => config.pecPollIntervalMs, log.child('pec'), config.testMode);
		if (config.testMode) {
			bus.on('run-now', this.#onRunNow);
		}

		this.#loop.start();
	}

	async #cycle(): Promise<void> {
		const {store, bus, config} = this.daemon;
		const log = this.daemon.log.child('pec');
		let written = 0;
		const failures: string[] = [];
		for (const account of store.accounts.all().filter(candidate => candidate.is_pec_account && candidate.imap_host)) {
			try {
				written += await this.#pollAccount(account);
			} catch (error) {
				failures.push(`${account.tenant_id}/${account.id}: ${errorMessage(error)}`);
			}
		}

		const expired = await store.write(() => expirePec(store, config.pecAcceptanceTimeoutSeconds, epochSeconds(this.daemon.clock)));
		if (expired > 0) {
			log.info(`${expired} PEC message(s) got no acceptance in time: treated as normal mail`);
		}

		if (written + expired > 0) {
			bus.emit('events-written');
		}

		if (failures.length > 0) {
			throw new Error(failures.join('; '));
		}
	}

	async #pollAccount(account: Account): Promise<number> {
		// IMAP and mail parsing load only when a PEC account exists.
		const [{parseReceipt}, {readNewMessages}] = await Promise.all([import('../../shared/pec/receipt.js'), import('../imap/mailbox.js')]);
		const {store} = this.daemon;
		let written = 0;
		await readNewMessages(
			{
				host: account.imap_host!,
				port: account.imap_port,
				secure: account.imap_ssl,
				user: account.imap_user ?? account.user ?? '',
				password: account.imap_password ?? account.password ?? '',
				folder: account.imap_folder,
			},
			{lastUid: account.imap_last_uid, uidValidity: account.imap_uidvalidity, lastSync: account.imap_last_sync},
			async (message, next) => {
				const receipt = message.skipped ? undefined : await parseReceipt(message.source);
				const recorded = await store.write(() => {
					const ok = receipt ? recordReceipt(store, receipt, account.tenant_id, epochSeconds(this.daemon.clock)) : false;
					store.accounts.setImapState(account.tenant_id, account.id, next);
					return ok;
				});
				written += recorded ? 1 : 0;
			},
			this.daemon.log.child('pec'),
		);
		return written;
	}

	async stop(): Promise<void> {
		this.daemon.bus.off('run-now', this.#onRunNow);
		await this.#loop?.stop();
	}
}
