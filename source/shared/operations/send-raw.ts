import {simpleParser, type AddressObject} from 'mailparser';
import {newPk} from '../ids.js';
import {refused, usageError} from '../errors.js';
import {envelopeAddresses, InvalidAddress} from '../message-rules.js';
import {recorded, type OpContext} from './context.js';
import {storeMessages, type StoredMessage} from './enqueue.js';

export type RawOptions = {accountId?: string; priority: number; id?: string; to?: string[]};

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
	const list = Array.isArray(field) ? field : field ? [field] : [];
	return list.flatMap(object => object.value.flatMap(entry => (entry.group ? entry.group : [entry]))).flatMap(entry => (entry.address ? [entry.address] : []));
}

/**
 * `<instance> <tenant> send <file.eml>`: enqueues an RFC 822 file as is (sent byte for byte, every part
 * kept). The envelope comes from its headers — Return-Path, else From; To, Cc and Bcc — unless
 * overridden. The REST API never accepts raw messages.
 */
export async function enqueueRaw({store, effects}: OpContext, tenantId: string, raw: Buffer, options: RawOptions): Promise<{ok: true; id: string; pk: string}> {
	const parsed = await simpleParser(raw, {skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true});
	const returnPath = parsed.headers.get('return-path');
	const returnAddress = typeof returnPath === 'string' ? /<?([^<>\s]+@[^<>\s]+)>?/.exec(returnPath)?.[1] : addresses(returnPath as AddressObject | undefined)[0];
	const from = returnAddress ?? addresses(parsed.from)[0];
	if (!from) {
		throw usageError('the file has no From or Return-Path header: nothing to send it from');
	}

	const recipients = options.to ?? [...addresses(parsed.to), ...addresses(parsed.cc), ...addresses(parsed.bcc)];
	let to: string[];
	try {
		to = envelopeAddresses(recipients);
	} catch (error) {
		throw usageError(error instanceof InvalidAddress ? `invalid recipient address: ${error.text}` : String(error));
	}

	if (to.length === 0) {
		throw usageError('no recipients: the file has no To/Cc/Bcc and no --to was given');
	}

	const accounts = store.accounts.list(tenantId);
	const accountId = options.accountId ?? (accounts.length === 1 ? accounts[0]!.id : undefined);
	if (accountId === undefined) {
		throw usageError(accounts.length === 0 ? `tenant '${tenantId}' has no SMTP account` : 'the tenant has several accounts: choose one with --account');
	}

	const account = accounts.find(candidate => candidate.id === accountId);
	if (!account) {
		throw refused('account not found for tenant');
	}

	const pk = newPk(store.clock.now());
	const id = options.id ?? `eml-${pk}`;
	const message: StoredMessage = {
		id,
		tenant_id: tenantId,
		account_id: accountId,
		from,
		to,
		subject: parsed.subject ?? '(no subject)',
		priority: options.priority,
		raw: raw.toString('base64'),
	};
	const payload = {id, tenant_id: tenantId, account_id: accountId, from, to, subject: message.subject, priority: options.priority, raw_size: raw.length};
	return recorded(store, {endpoint: 'addMessages', tenantId, payload}, () => {
		const result = store.transaction(() => storeMessages(store, [{kind: 'accept', message, pk}], () => account.is_pec_account));
		if (result.queued === 0) {
			throw refused(`message '${id}' was already sent`);
		}

		effects?.messagesReady?.();
		return {ok: true as const, id, pk: store.messages.find(tenantId, id)!.pk};
	});
}
