import {simpleParser, type ParsedMail} from 'mailparser';
import {classifyReason, HARD_REASONS} from './classify.js';

export type BounceRecipient = {
	recipient: string;
	action: 'failed' | 'delayed';
	status: string | null;
	reply_code: string | null;
	reason: string;
	hard: boolean;
	diagnostic: string | null;
};

export type Correlation = {pk: string | null; id: string | null; message_id: string | null};

export type BounceReport = {
	is_bounce: boolean;
	/** How it was read: a standard report, a report read from raw text, or a notice read by heuristics. */
	kind: 'dsn' | 'malformed-dsn' | 'heuristic' | null;
	/** Why it is not a bounce, when it is not. */
	not_bounce?: 'feedback-report' | 'auto-reply' | 'not-a-bounce';
	recipients: BounceRecipient[];
	correlation: Correlation;
	/** The notice's own Message-ID: a notice read twice is recorded once. */
	dsn_message_id: string | null;
};

const DSN_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status', 'text/delivery-status']);
const ORIGINAL_TYPES = new Set(['message/rfc822', 'message/rfc822-headers', 'text/rfc822-headers', 'message/global', 'message/global-headers']);
const PK = /Z[\dA-Za-z]{21}/;

/** Lines that introduce the returned original in notices that quote it inline. */
const ORIGINAL_MARKER =
	/^.*(below this line is a copy of the message|original message (follows|headers)|this is a copy of the message|-{2,} ?original message ?-{2,}|message headers follow|returned mail follows|headers of the original message|undelivered message (is )?attached|-{3,} ?the header of (the )?original message|content-type: message\/rfc822|attached is the original|a copy of the original message below).*$/im;

const HEURISTIC_SUBJECT = /(mail|message|delivery)\s*(delivery|failure|failed|returned|undeliverable)|undelivered\s*mail\s*returned|(returned|bounced)\s*mail|failure\s*notice|undeliverable|delivery (status )?notification|could not be delivered|delivery (has )?failed|non-?delivery|warning: could not send|not delivered/i;
const HEURISTIC_FROM = /mailer-daemon|postmaster|mail-daemon|maildelivery|mail delivery (sub)?system/i;
const AUTO_REPLY_SUBJECT = /^(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|away from|vacation|abwesen|absence|on leave|autoresponder)|\b(away until|out of office|on vacation)\b/i;

const ENHANCED = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/g;
const REPLY = /(?:^|[\s:;"'(\[#=<])([245]\d\d)(?=[\s\-:;,.)\]"'>]|$)(?!\.\d)/gm;

function unfold(text: string): string {
	return text.replaceAll(/\r\n/g, '\n').replaceAll(/\n[ \t]+/g, ' ');
}

/** `Name: value` fields of one block (continuation lines unfolded), lower-case names. */
function fieldsOf(block: string): Map<string, string> {
	const fields = new Map<string, string>();
	for (const line of unfold(block).split('\n')) {
		const match = /^([\w-]+)\s*:\s*(.*)$/.exec(line);
		if (match && !fields.has(match[1]!.toLowerCase())) {
			fields.set(match[1]!.toLowerCase(), match[2]!.trim());
		}
	}

	return fields;
}

function stripAddressType(value: string | undefined): string | undefined {
	if (!value) {
		return undefined;
	}

	const address = value.replace(/^\s*[\w-]+\s*;\s*/, '').trim().replace(/^<|>$/g, '').trim();
	return address.includes('@') ? address : undefined;
}

/** The most specific enhanced status: the field, unless it is generic (x.0.0) and the text holds one. */
function bestStatus(field: string | undefined, text: string): string | null {
	const fromField = field ? /([245])\.(\d{1,3})\.(\d{1,3})/.exec(field)?.[0] : undefined;
	const inText = [...text.matchAll(ENHANCED)].map(match => match[0]);
	if (fromField && !/^\d\.0\.0$/.test(fromField)) {
		return fromField;
	}

	const specific = inText.find(code => !/^\d\.0\.0$/.test(code) && (!fromField || code[0] === fromField[0]));
	return specific ?? fromField ?? inText[0] ?? null;
}

/** The SMTP reply code in a diagnostic text (not digits of an address, an IP or a size). */
export function replyCodeOf(text: string, status: string | null): string | null {
	const codes = [...text.replaceAll(/\d+\.\d+\.\d+\.\d+/g, ' ').matchAll(REPLY)].map(match => match[1]!).filter(code => code[0] !== '2');
	if (codes.length === 0) {
		return null;
	}

	return (status ? codes.find(code => code[0] === status[0]) : undefined) ?? codes[0]!;
}

function recipientResult(recipient: string, actionField: string | undefined, statusField: string | undefined, diagnostic: string): BounceRecipient {
	const status = bestStatus(statusField, diagnostic);
	const action = /delay/i.test(actionField ?? '') ? 'delayed' : 'failed';
	const reply = replyCodeOf(diagnostic, status);
	const reason = action === 'delayed' && !status && !diagnostic ? 'delayed' : classifyReason({status, replyCode: reply, text: diagnostic, action});
	return {
		recipient,
		action,
		status,
		reply_code: reply,
		reason,
		hard: action === 'failed' && HARD_REASONS.has(reason),
		diagnostic: diagnostic ? diagnostic.replaceAll(/\s+/g, ' ').trim().slice(0, 500) : null,
	};
}

/** Recipient blocks of a delivery-status body (RFC 3464): Action failed or delayed count. */
function parseDeliveryStatus(content: string, notice: string): BounceRecipient[] {
	const blocks = content
		.replaceAll(/\r\n/g, '\n')
		.split(/\n\s*\n/)
		.filter(block => block.trim() !== '');
	const results: BounceRecipient[] = [];
	for (const block of blocks) {
		const fields = fieldsOf(block);
		const recipient = stripAddressType(fields.get('final-recipient')) ?? stripAddressType(fields.get('original-recipient'));
		if (!recipient) {
			continue;
		}

		const action = (fields.get('action') ?? 'failed').toLowerCase();
		if (/deliver|relay|expand/.test(action)) {
			continue;
		}

		const diagnostic = (fields.get('diagnostic-code') ?? '').replace(/^\s*[\w-]+\s*;\s*/, '');
		// Some MTAs put the explanation only in the human-readable part: use what it says of this recipient.
		const context = diagnostic || noticeAbout(notice, recipient);
		results.push(recipientResult(recipient, action, fields.get('status'), context));
	}

	return results;
}

/** The sentences of the human-readable notice about one recipient. */
function noticeAbout(notice: string, recipient: string): string {
	const at = notice.toLowerCase().indexOf(recipient.toLowerCase());
	return at === -1 ? '' : notice.slice(at, at + 600);
}

/** The human-readable part, without the quoted original. */
function noticeText(parsed: ParsedMail): string {
	const text = parsed.text ?? (typeof parsed.html === 'string' ? parsed.html.replaceAll(/<[^>]+>/g, ' ') : '');
	const marker = ORIGINAL_MARKER.exec(text);
	return marker ? text.slice(0, marker.index) : text;
}

const ADDRESS = /[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+/;

/** A notice that is not an RFC 3464 report: the failed addresses and the explanation of each. */
function readNotice(notice: string, parsed: ParsedMail): BounceRecipient[] {
	const sender = (parsed.from?.value[0]?.address ?? '').toLowerCase();
	const text = notice.slice(0, 8000);
	const delayed = /\b(delayed|not yet been delivered|will (continue to )?(retry|try again)|still trying|temporar(il)?y (failure|problem|error)|warning:)/i.test(text) && !/permanent(ly)? (error|failure|failed)|given up|giving up/i.test(text);
	// Most MTAs list each failed address alone on its line ("  user@host", "<user@host>:"), its
	// explanation below it: one block per recipient.
	// An address repeated inside its own (wrapped) explanation belongs to the same block.
	const lines = [...text.matchAll(new RegExp(`^[ \\t]*<?(${ADDRESS.source})>?:?[ \\t]*$`, 'gm'))]
		.filter(match => match[1]!.toLowerCase() !== sender)
		.filter((match, index, all) => all.findIndex(other => other[1]!.toLowerCase() === match[1]!.toLowerCase()) === index);
	if (lines.length > 0) {
		return lines.map((match, index) => {
			const end = index + 1 < lines.length ? lines[index + 1]!.index : Math.min(text.length, match.index + 1500);
			const block = text.slice(match.index + match[0].length, end);
			return recipientResult(match[1]!, delayed ? 'delayed' : 'failed', undefined, block.trim() || text.slice(0, 1000));
		});
	}

	const candidates = [...text.matchAll(new RegExp(ADDRESS.source, 'g'))].map(match => ({address: match[0], index: match.index}));
	const found = candidates.find(({address}) => address.toLowerCase() !== sender && !/^(mailer-daemon|postmaster)@/i.test(address));
	if (!found) {
		return [];
	}

	const diagnostic = text.slice(Math.max(0, found.index - 200), found.index + 1200);
	return [recipientResult(found.address.replace(/[.>]+$/, ''), delayed ? 'delayed' : 'failed', undefined, diagnostic)];
}

/**
 * A notice's raw text without its own Message-ID line (in the top header block), so that the notice is
 * never mistaken for the original it is about; its In-Reply-To / References still count.
 */
export function withoutOwnMessageId(rawText: string): string {
	const end = rawText.search(/\r?\n\r?\n/);
	const head = end === -1 ? rawText : rawText.slice(0, end);
	return head.replace(/^Message-ID:.*(\r?\n[ \t].*)*$/gim, '') + (end === -1 ? '' : rawText.slice(end));
}

/** Correlation headers, searched in the returned original first, then any part, then the raw text. */
export function correlate(sources: string[]): Correlation {
	const result: Correlation = {pk: null, id: null, message_id: null};
	for (const source of sources) {
		const headers = unfold(source);
		result.pk ??= /^X-Genro-Mail-PK:\s*(Z[\dA-Za-z]{21})\b/im.exec(headers)?.[1] ?? null;
		if (!result.pk) {
			for (const match of headers.matchAll(/^(?:Message-ID|In-Reply-To|References|X-Riferimento-Message-ID):\s*(.*)$/gim)) {
				const pk = new RegExp(`<(${PK.source})@`).exec(match[1]!)?.[1];
				if (pk) {
					result.pk = pk;
					break;
				}
			}
		}

		result.id ??= /^X-Genro-Mail-ID:\s*(\S+)/im.exec(headers)?.[1] ?? null;
		result.message_id ??= /^Message-ID:\s*(<[^>\s]+>)/im.exec(headers)?.[1] ?? null;
	}

	return result;
}

/**
 * Reads a message from the bounce mailbox (engine §12): an RFC 3464 report, a report whose structure is
 * broken (read from the raw text), or a non-standard notice recognized by its subject or sender.
 * Feedback (complaint) reports, auto-replies and ordinary mail are not bounces.
 */
export async function parseBounce(raw: Buffer): Promise<BounceReport> {
	const parsed = await simpleParser(raw, {keepDeliveryStatus: true, skipImageLinks: true, skipTextLinks: true, skipTextToHtml: true});
	const contentType = parsed.headers.get('content-type') as {value?: string; params?: Record<string, string>} | undefined;
	const reportType = contentType?.params?.['report-type']?.toLowerCase();
	const parts = parsed.attachments ?? [];
	const rawText = raw.toString('utf8');
	const originals = parts.filter(part => ORIGINAL_TYPES.has(part.contentType)).map(part => part.content.toString('utf8'));
	const notice = noticeText(parsed);
	const marker = ORIGINAL_MARKER.exec(parsed.text ?? '');
	const inlineOriginal = marker ? (parsed.text ?? '').slice(marker.index) : '';
	const correlation = correlate([...originals, inlineOriginal, ...parts.map(part => part.content.toString('utf8')), withoutOwnMessageId(rawText)]);
	const dsnMessageId = parsed.messageId ?? null;
	const notBounce = (why: BounceReport['not_bounce']): BounceReport => ({is_bounce: false, kind: null, not_bounce: why, recipients: [], correlation, dsn_message_id: dsnMessageId});

	if (reportType === 'feedback-report' || parts.some(part => part.contentType === 'message/feedback-report')) {
		return notBounce('feedback-report');
	}

	const dsn = parts.filter(part => DSN_TYPES.has(part.contentType));
	if (dsn.length > 0) {
		const recipients = dsn.flatMap(part => parseDeliveryStatus(part.content.toString('utf8'), notice));
		if (recipients.length > 0) {
			return {is_bounce: true, kind: 'dsn', recipients, correlation, dsn_message_id: dsnMessageId};
		}
	}

	// A report whose MIME structure is broken: the fields are still in the raw text.
	if (/^Final-Recipient:/im.test(rawText) && /^(Status|Action):/im.test(rawText)) {
		const start = rawText.search(/^(Reporting-MTA|Final-Recipient|Original-Recipient|Action):/im);
		const section = rawText.slice(Math.max(0, start)).split(ORIGINAL_MARKER)[0]!.replace(/^--.*$/gm, '\n');
		const recipients = parseDeliveryStatus(section, notice);
		if (recipients.length > 0) {
			return {is_bounce: true, kind: 'malformed-dsn', recipients, correlation, dsn_message_id: dsnMessageId};
		}
	}

	const subject = parsed.subject ?? '';
	const from = parsed.from?.text ?? '';
	const autoSubmitted = String(parsed.headers.get('auto-submitted') ?? '');
	const looksLikeNotice = HEURISTIC_SUBJECT.test(subject) || HEURISTIC_FROM.test(from);
	if (!looksLikeNotice) {
		const autoReply = /auto-replied/i.test(autoSubmitted) || parsed.headers.has('x-autoreply') || parsed.headers.has('x-autorespond') || AUTO_REPLY_SUBJECT.test(subject);
		return notBounce(autoReply ? 'auto-reply' : 'not-a-bounce');
	}

	const recipients = readNotice(notice, parsed);
	return recipients.length > 0 ? {is_bounce: true, kind: 'heuristic', recipients, correlation, dsn_message_id: dsnMessageId} : notBounce('not-a-bounce');
}
