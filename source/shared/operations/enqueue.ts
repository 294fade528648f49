import {isoNow} from '../clock.js';
import type {SecretBox} from '../crypto.js';
import type {Store} from '../db/store.js';
import type {NewMessage} from '../db/messages.js';
import {refused} from '../errors.js';
import {newPk} from '../ids.js';
import {addressEntries, hasLineBreak, headerNameProblem, InvalidAddress, parseAddresses} from '../message-rules.js';
import {MASK} from '../schemas/common.js';
import type {EnqueuePayload, MessagePayload} from '../schemas/message.js';
import {recorded, type OpContext} from './context.js';

export const MAX_BATCH = 1000;

export type Rejection = {id: string; reason: string};
export type EnqueueResult = {ok: boolean; queued: number; rejected: Rejection[]};

/** The normalized message stored as `payload` (what `GET /messages` shows as `message`). */
export type StoredMessage = Omit<MessagePayload, 'to' | 'cc' | 'bcc' | 'priority'> & {
	tenant_id: string;
	to: string[];
	cc?: string[];
	bcc?: string[];
	priority: number;
	/** CLI `send`: the RFC 822 file, base64, sent byte for byte. */
	raw?: string;
	retry_count?: number;
};

/** The address fields in check order, each as a list of entries. */
function addressFields(message: ScopedMessage): Array<[string, string[]]> {
	const list = (value: string | string[] | null | undefined) => (Array.isArray(value) ? value : value ? [value] : []);
	return [
		['from', list(message.from)],
		['to', list(message.to)],
		['cc', list(message.cc)],
		['bcc', list(message.bcc)],
		['reply_to', list(message.reply_to)],
		['return_path', list(message.return_path)],
	];
}

/** The first header field (check 8 of rest-api §2.5) holding a CR or LF, if any. */
function lineBreakField(message: ScopedMessage, addresses: Array<[string, string[]]>): string | undefined {
	for (const [field, entries] of addresses) {
		for (const entry of entries) {
			if (hasLineBreak(entry)) {
				return field;
			}
		}
	}

	if (hasLineBreak(message.subject)) {
		return 'subject';
	}

	if (message.message_id && hasLineBreak(message.message_id)) {
		return 'message_id';
	}

	for (const name in message.headers ?? {}) {
		const value = message.headers![name];
		if (typeof value === 'string' && hasLineBreak(value)) {
			return `headers.${name}`;
		}
	}

	const attachments = message.attachments ?? [];
	for (let index = 0; index < attachments.length; index++) {
		if (hasLineBreak(attachments[index]!.filename)) {
			return `attachments[${index}].filename`;
		}

		if (attachments[index]!.mime_type && hasLineBreak(attachments[index]!.mime_type!)) {
			return `attachments[${index}].mime_type`;
		}
	}

	return undefined;
}

/** Per-message checks of rest-api §2.5 in order; the first failure is the reason. */
function problemOf(message: ScopedMessage, accountExists: (tenant: string, account: string) => boolean): string | undefined {
	if (message.id.trim() === '') {
		return 'missing id';
	}

	if (message.tenant_id.trim() === '') {
		return 'missing tenant_id';
	}

	if (message.account_id.trim() === '') {
		return 'missing account_id';
	}

	if (message.from.trim() === '') {
		return 'missing from';
	}

	if (addressEntries(message.to).length === 0) {
		return 'missing to';
	}

	if (message.subject.trim() === '') {
		return 'missing subject';
	}

	if (!accountExists(message.tenant_id, message.account_id)) {
		return 'account not found for tenant';
	}

	const addresses = addressFields(message);
	const broken = lineBreakField(message, addresses);
	if (broken !== undefined) {
		return `invalid header value in ${broken}`;
	}

	for (const [field, entries] of addresses) {
		for (const entry of entries) {
			try {
				parseAddresses(entry);
			} catch (error) {
				if (error instanceof InvalidAddress) {
					return `invalid address in ${field}: ${error.text}`;
				}

				throw error;
			}
		}
	}

	for (const name in message.headers ?? {}) {
		if (headerNameProblem(name)) {
			return `header not allowed: ${name}`;
		}

		const value = message.headers![name];
		if (value !== null && typeof value === 'object') {
			return `invalid header value in headers.${name}`;
		}
	}

	return undefined;
}

/** Attachment credentials are encrypted inside the stored payload (engine §2.3). */
export function sealAttachmentSecrets(message: StoredMessage, secrets: SecretBox | undefined): StoredMessage {
	if (!message.attachments?.some(attachment => attachment.auth)) {
		return message;
	}

	return {
		...message,
		attachments: message.attachments.map(attachment => {
			if (!attachment.auth) {
				return attachment;
			}

			const seal = (value: string | null | undefined) => (value ? secrets!.encrypt(value, 'messages.payload') : value);
			return {...attachment, auth: {...attachment.auth, token: seal(attachment.auth.token), password: seal(attachment.auth.password)}};
		}),
	};
}

export function openAttachmentSecrets(message: StoredMessage, secrets: SecretBox | undefined): StoredMessage {
	if (!message.attachments?.some(attachment => attachment.auth)) {
		return message;
	}

	const open = (value: string | null | undefined) => (value && value.startsWith('ENC:') && secrets ? secrets.decrypt(value, 'messages.payload') : value);
	return {...message, attachments: message.attachments.map(attachment => (attachment.auth ? {...attachment, auth: {...attachment.auth, token: open(attachment.auth.token), password: open(attachment.auth.password)}} : attachment))};
}

export function maskAttachmentSecrets(message: StoredMessage): StoredMessage {
	if (!message.attachments?.some(attachment => attachment.auth)) {
		return message;
	}

	const mask = (value: string | null | undefined) => (value ? MASK : value);
	return {...message, attachments: message.attachments.map(attachment => (attachment.auth ? {...attachment, auth: {...attachment.auth, token: mask(attachment.auth.token), password: mask(attachment.auth.password)}} : attachment))};
}

export type ScopedMessage = MessagePayload & {tenant_id: string};
export type ScopedPayload = Omit<EnqueuePayload, 'messages'> & {messages: ScopedMessage[]};

/** The stored form: address lists as arrays, the effective priority, no null fields. */
function normalize(message: ScopedMessage, priority: number): StoredMessage {
	const stored: Record<string, unknown> = {};
	for (const key in message) {
		const value = message[key as keyof ScopedMessage];
		if (value !== null && value !== undefined && key !== 'to' && key !== 'cc' && key !== 'bcc') {
			stored[key] = value;
		}
	}

	stored['to'] = addressEntries(message.to);
	if (message.cc) {
		const entries = addressEntries(message.cc);
		if (entries.length > 0) {
			stored['cc'] = entries;
		}
	}

	if (message.bcc) {
		const entries = addressEntries(message.bcc);
		if (entries.length > 0) {
			stored['bcc'] = entries;
		}
	}

	stored['priority'] = priority;
	return stored as StoredMessage;
}

type Outcome = {kind: 'accept'; message: StoredMessage; pk?: string} | {kind: 'reject'; message: ScopedMessage; priority: number; reason: string};

/**
 * Stores messages: each accepted one is inserted or replaces its unprocessed namesake (keeping its
 * place in the queue); each rejected one with an id and a known tenant is stored as an error, so that
 * the error reaches the client through the delivery report. Processed or in-flight messages are left
 * alone and reported as "already sent". Runs inside one write (group commit in the daemon).
 */
export function storeMessages(store: Store, outcomes: Outcome[], isPec: (tenant: string, account: string) => boolean): {queued: number; rejected: Rejection[]; ready: boolean} {
	const nowMs = store.clock.now();
	const nowTs = Math.floor(nowMs / 1000);
	const now = isoNow(store.clock);
	const rejected: Rejection[] = [];
	let queued = 0;
	let ready = false;
	const tenantExists = new Map<string, boolean>();
	for (const outcome of outcomes) {
		const {message} = outcome;
		if (outcome.kind === 'accept') {
			const deferred = outcome.message.deferred_ts ?? null;
			const stored = store.messages.upsert({
				pk: outcome.pk ?? newPk(nowMs),
				id: message.id,
				tenant_id: message.tenant_id,
				account_id: message.account_id,
				smtp_ts: null,
				priority: outcome.message.priority,
				payload: JSON.stringify(sealAttachmentSecrets(outcome.message, store.secrets)),
				batch_code: outcome.message.batch_code ?? null,
				deferred_ts: deferred,
				is_pec: isPec(message.tenant_id, message.account_id),
				now,
				nowTs,
			});
			if (!stored) {
				rejected.push({id: message.id, reason: 'already sent'});
				continue;
			}

			queued++;
			ready ||= deferred === null || deferred <= nowTs;
			continue;
		}

		const existing = message.id === '' ? undefined : store.messages.find(message.tenant_id, message.id);
		const busy = existing !== undefined && (existing.smtp_ts !== null || (existing.lease_owner !== null && (existing.lease_expires_ts ?? 0) > nowTs));
		rejected.push({id: message.id, reason: outcome.reason});
		if (message.id.trim() === '' || message.tenant_id.trim() === '' || busy) {
			continue;
		}

		if (!tenantExists.has(message.tenant_id)) {
			tenantExists.set(message.tenant_id, store.tenants.exists(message.tenant_id));
		}

		if (!tenantExists.get(message.tenant_id)) {
			continue;
		}

		const stored = normalize(message, outcome.priority);
		const row: NewMessage = {
			pk: existing?.pk ?? newPk(nowMs),
			id: message.id,
			tenant_id: message.tenant_id,
			account_id: message.account_id || null,
			smtp_ts: nowTs,
			priority: outcome.priority,
			payload: JSON.stringify(sealAttachmentSecrets(stored, store.secrets)),
			batch_code: message.batch_code ?? null,
			deferred_ts: null,
			is_pec: false,
			now,
			nowTs,
		};
		if (existing) {
			store.messages.markError(row);
		} else {
			store.messages.insert(row);
		}

		store.events.insert({messagePk: row.pk, tenantId: message.tenant_id, type: 'error', ts: nowTs, description: outcome.reason});
	}

	return {queued, rejected, ready};
}

/**
 * In the command log, add-messages bodies are summarized: the audit log records who queued what for
 * whom, not the content, which the messages table already holds.
 */
const SUMMARIZE_BODY = {body: (body: unknown) => (typeof body === 'string' && body.length > 0 ? `<${body.length} characters>` : body)};

/**
 * `POST /commands/add-messages` (rest-api §2.5). Tenant scope is settled by the caller: every message
 * carries its tenant_id. Partial acceptance; `ok` is false only when nothing was stored and some
 * rejection is not "already sent".
 */
export function enqueueMessages({store, effects}: OpContext, payload: ScopedPayload, instanceDefaultPriority: number): EnqueueResult {
	const tenants = new Set(payload.messages.map(message => message.tenant_id));
	const commonTenant = tenants.size === 1 ? [...tenants][0]! : null;
	return recorded(
		store,
		{endpoint: 'addMessages', tenantId: commonTenant, payload, rewrite: SUMMARIZE_BODY},
		() => {
			if (payload.messages.length > MAX_BATCH) {
				throw refused(`Cannot enqueue more than ${MAX_BATCH} messages at once`, {error: `Cannot enqueue more than ${MAX_BATCH} messages at once`, rejected: null});
			}

			const accounts = new Map<string, {pec: boolean} | undefined>();
			const account = (tenant: string, id: string) => {
				const key = `${tenant}\u0000${id}`;
				if (!accounts.has(key)) {
					accounts.set(key, store.accounts.flags(tenant, id));
				}

				return accounts.get(key);
			};

			// Duplicate ids in one request: the later item wins.
			const last = new Map<string, number>();
			payload.messages.forEach((message, index) => last.set(`${message.tenant_id}\u0000${message.id}`, index));
			const outcomes: Outcome[] = [];
			payload.messages.forEach((message, index) => {
				if (message.id !== '' && last.get(`${message.tenant_id}\u0000${message.id}`) !== index) {
					return;
				}

				const priority = message.priority ?? payload.default_priority ?? instanceDefaultPriority;
				const reason = problemOf(message, (tenant, id) => account(tenant, id) !== undefined);
				outcomes.push(reason === undefined ? {kind: 'accept', message: normalize(message, priority)} : {kind: 'reject', message, priority, reason});
			});

			const {queued, rejected, ready} = store.transaction(() => storeMessages(store, outcomes, (tenant, id) => account(tenant, id)?.pec ?? false));
			if (ready) {
				effects?.messagesReady?.();
			}

			return {ok: queued > 0 || rejected.every(rejection => rejection.reason === 'already sent'), queued, rejected};
		},
		result => (result.ok ? 200 : 400),
	);
}

