import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import {envelopeAddresses, hasLineBreak, headerNameProblem, parseAddresses} from '../../shared/message-rules.js';
import type {StoredMessage} from '../../shared/operations/enqueue.js';
import {DeliveryError} from './retry.js';

export type ReadyAttachment = {filename: string; content: Buffer; contentType: string};

function domainOf(address: string | undefined): string {
	const at = address?.lastIndexOf('@') ?? -1;
	return at > 0 ? address!.slice(at + 1) : 'mail-proxy.invalid';
}

/** Envelope sender: the message's return_path, else the instance bounce_return_path, else From. */
export function envelopeSender(message: StoredMessage, bounceReturnPath: string | null): string {
	const candidate = message.return_path ?? bounceReturnPath ?? message.from;
	return parseAddresses(candidate)[0]!.address;
}

/**
 * nodemailer options for a message (engine §5): headers, envelope (to+cc+bcc, de-duplicated; Bcc never
 * in the headers), Message-ID `<pk@domain-of-from>` unless given, and the tracking headers last.
 * Header rules are checked again here: a stored message must never inject headers.
 */
export function buildMessage(pk: string, message: StoredMessage, bounceReturnPath: string | null, attachments: ReadyAttachment[], now: Date): Mail.Options {
	const headers: Record<string, string> = {};
	for (const [name, value] of Object.entries(message.headers ?? {})) {
		if (value === null || value === undefined) {
			continue;
		}

		const text = String(value);
		if (headerNameProblem(name) || typeof value === 'object' || hasLineBreak(text)) {
			throw new DeliveryError(`header not allowed: ${name}`, false);
		}

		headers[name] = text;
	}

	for (const text of [message.subject, message.message_id ?? '', ...(message.to ?? []), ...(message.cc ?? [])]) {
		if (hasLineBreak(text)) {
			throw new DeliveryError('invalid header value', false);
		}
	}

	headers['X-Genro-Mail-ID'] = message.id;
	headers['X-Genro-Mail-PK'] = pk;
	const fromAddress = parseAddresses(message.from)[0]!.address;
	const html = message.content_type === 'html';
	return {
		from: message.from,
		to: message.to,
		cc: message.cc,
		replyTo: message.reply_to ?? undefined,
		subject: message.subject,
		date: now,
		messageId: message.message_id ?? `<${pk}@${domainOf(fromAddress)}>`,
		...(html ? {html: message.body ?? ''} : {text: message.body ?? ''}),
		headers,
		attachments: attachments.map(attachment => ({filename: attachment.filename, content: attachment.content, contentType: attachment.contentType, contentDisposition: 'attachment'})),
		envelope: {from: envelopeSender(message, bounceReturnPath), to: envelopeAddresses(message.to, message.cc ?? [], message.bcc ?? [])},
		disableFileAccess: true,
		disableUrlAccess: true,
	};
}

const DROPPED = /^(x-genro-mail-id|x-genro-mail-pk|bcc)$/i;

/**
 * A raw RFC 822 message (CLI `send`) as sent: byte for byte, except that existing tracking and Bcc
 * header fields are removed, the two tracking headers are prepended, and Date / Message-ID are added
 * only when missing. Only the header block is touched; the body is never re-encoded.
 */
export function prepareRaw(raw: Buffer, id: string, pk: string, fromAddress: string, now: Date): Buffer {
	const crlfEnd = raw.indexOf('\r\n\r\n');
	const lfEnd = raw.indexOf('\n\n');
	const crlf = crlfEnd !== -1 && (lfEnd === -1 || crlfEnd < lfEnd);
	const end = crlf ? crlfEnd : lfEnd;
	const newline = crlf ? '\r\n' : '\n';
	const headerText = (end === -1 ? raw : raw.subarray(0, end)).toString('latin1');
	const body = end === -1 ? Buffer.alloc(0) : raw.subarray(end);
	// Header fields with their folded continuation lines.
	const fields: string[] = [];
	for (const line of headerText.split(newline)) {
		if (/^[ \t]/.test(line) && fields.length > 0) {
			fields[fields.length - 1] += newline + line;
		} else {
			fields.push(line);
		}
	}

	const name = (field: string) => field.slice(0, Math.max(0, field.indexOf(':'))).trim();
	const kept = fields.filter(field => !DROPPED.test(name(field)));
	const has = (header: string) => kept.some(field => name(field).toLowerCase() === header);
	const added = [`X-Genro-Mail-ID: ${id}`, `X-Genro-Mail-PK: ${pk}`];
	if (!has('date')) {
		added.push(`Date: ${now.toUTCString().replace('GMT', '+0000')}`);
	}

	if (!has('message-id')) {
		added.push(`Message-ID: <${pk}@${domainOf(fromAddress)}>`);
	}

	return Buffer.concat([Buffer.from([...added, ...kept].join(newline), 'latin1'), body]);
}

/**
 * The message composed by nodemailer, with the tracking header names spelled exactly as the protocol
 * names them (nodemailer would send `X-Genro-Mail-Pk`); only the header block is touched.
 */
export async function compose(mail: Mail.Options): Promise<Buffer> {
	const built = await new MailComposer(mail).compile().build();
	const end = built.indexOf('\r\n\r\n');
	const head = built.subarray(0, end === -1 ? built.length : end).toString('latin1').replace(/^X-Genro-Mail-Pk:/im, 'X-Genro-Mail-PK:').replace(/^X-Genro-Mail-Id:/im, 'X-Genro-Mail-ID:');
	return Buffer.concat([Buffer.from(head, 'latin1'), end === -1 ? Buffer.alloc(0) : built.subarray(end)]);
}
