import {ImapFlow} from 'imapflow';
import type {Logger} from '../log.js';

export type MailboxSettings = {host: string; port: number; secure: boolean; user: string; password: string; folder: string};

/** Where reading stopped: persisted with each message's events, so a restart never reads one twice. */
export type MailboxState = {lastUid: number | null; uidValidity: number | null; lastSync: string | null};

export const MAX_PER_POLL = 200;

/**
 * Reads the messages that arrived since `state` (engine §12 steps 1-4): connect (implicit TLS when
 * `secure`, else plain upgraded with STARTTLS when the server offers it), open the folder read-only
 * (no flags, no deletes), restart from UID 1 when UIDVALIDITY changed (skipping what arrived before the
 * last sync), and hand each new message to `handle` with the state to store along with what it records.
 * At most 200 messages per poll; the next poll continues.
 */
export async function readNewMessages(
	settings: MailboxSettings,
	state: MailboxState,
	handle: (message: {uid: number; source: Buffer; internalDate: Date; skipped: boolean}, next: MailboxState) => Promise<void>,
	log: Logger,
): Promise<number> {
	const client = new ImapFlow({
		host: settings.host,
		port: settings.port,
		secure: settings.secure,
		auth: {user: settings.user, pass: settings.password},
		logger: false,
		connectionTimeout: 15_000,
		greetingTimeout: 15_000,
		socketTimeout: 60_000,
	});
	client.on('error', error => log.debug(`imap ${settings.host}: ${(error as Error).message}`));
	await client.connect();
	try {
		const mailbox = await client.mailboxOpen(settings.folder, {readOnly: true});
		const uidValidity = Number(mailbox.uidValidity);
		const restarted = state.uidValidity !== null && state.uidValidity !== uidValidity;
		const from = restarted || state.uidValidity === null ? 1 : (state.lastUid ?? 0) + 1;
		const since = restarted && state.lastSync ? Date.parse(`${state.lastSync}Z`) : undefined;
		if (restarted) {
			log.warn(`imap ${settings.host}/${settings.folder}: UIDVALIDITY changed, reading again from the start (skipping what arrived before ${state.lastSync ?? 'the last sync'})`);
		}

		if (mailbox.exists === 0) {
			return 0;
		}

		// UIDs only: `n:*` also returns the newest message when nothing is newer than n.
		const uids = (await client.search({uid: `${from}:*`}, {uid: true})) || [];
		const fresh = uids.filter(uid => uid >= from).sort((a, b) => a - b).slice(0, MAX_PER_POLL);
		let handled = 0;
		for (const uid of fresh) {
			const message = await client.fetchOne(String(uid), {uid: true, source: true, internalDate: true}, {uid: true});
			if (!message || !message.source) {
				continue;
			}

			const internalDate = message.internalDate instanceof Date ? message.internalDate : new Date(String(message.internalDate));
			const next: MailboxState = {lastUid: uid, uidValidity, lastSync: new Date().toISOString().slice(0, 19)};
			// After a UIDVALIDITY change, what arrived before the last sync was read already: only move past it.
			const skipped = since !== undefined && internalDate.getTime() < since;
			await handle({uid, source: message.source, internalDate, skipped}, next);
			if (skipped) {
				continue;
			}

			handled++;
		}

		return handled;
	} finally {
		await client.logout().catch(() => client.close());
	}
}
