import crypto from 'node:crypto';

/** The header block of a received message (what a bounce returns as text/rfc822-headers). */
export function headersOf(raw: Buffer): string {
	const text = raw.toString('utf8');
	const end = text.search(/\r?\n\r?\n/);
	return end === -1 ? text : text.slice(0, end);
}

/**
 * An RFC 3464 delivery status notification, as an MTA sends it, for the message whose headers are
 * given. `messageId` false leaves the notice without a Message-ID (as some MTAs do).
 */
export function deliveryStatusNotice(
	originalHeaders: string,
	options: {recipient: string; status: string; diagnostic: string; action?: string; messageId?: string | false},
): string {
	const boundary = `b-${crypto.randomBytes(6).toString('hex')}`;
	const id = options.messageId === false ? '' : `Message-ID: ${options.messageId ?? `<${crypto.randomUUID()}@mx.example.org>`}\r\n`;
	return [
		'From: Mail Delivery System <MAILER-DAEMON@mx.example.org>',
		`To: billing@acme.example`,
		'Subject: Undelivered Mail Returned to Sender',
		'Date: Tue, 24 Nov 2026 10:00:00 +0000',
		`${id}MIME-Version: 1.0`,
		`Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
		'',
		`--${boundary}`,
		'Content-Type: text/plain; charset=us-ascii',
		'',
		'This is the mail system at host mx.example.org.',
		'',
		`<${options.recipient}>: host mx.example.org said: ${options.diagnostic}`,
		'',
		`--${boundary}`,
		'Content-Type: message/delivery-status',
		'',
		'Reporting-MTA: dns; mx.example.org',
		'Arrival-Date: Tue, 24 Nov 2026 09:59:58 +0000',
		'',
		`Final-Recipient: rfc822; ${options.recipient}`,
		`Original-Recipient: rfc822;${options.recipient}`,
		`Action: ${options.action ?? 'failed'}`,
		`Status: ${options.status}`,
		'Remote-MTA: dns; mx.example.org',
		`Diagnostic-Code: smtp; ${options.diagnostic}`,
		'',
		`--${boundary}`,
		'Content-Type: text/rfc822-headers',
		'',
		originalHeaders,
		'',
		`--${boundary}--`,
		'',
	].join('\r\n');
}

/**
 * A PEC receipt (ricevuta) about a message, the way Italian certified-mail providers send them:
 * `X-Ricevuta` unless `header` is false (then only the subject tells the kind), and the original's
 * Message-ID in `X-Riferimento-Message-ID`.
 */
export function pecReceipt(options: {kind: string; subject: string; originalMessageId: string; recipient: string; header?: boolean; error?: string}): string {
	return [
		'From: "Per conto di: billing@acme.example" <posta-certificata@pec.example.it>',
		'To: billing@acme.example',
		`Subject: ${options.subject}`,
		'Date: Tue, 24 Nov 2026 10:00:05 +0100',
		`Message-ID: <${crypto.randomUUID()}@pec.example.it>`,
		...(options.header === false ? [] : [`X-Ricevuta: ${options.kind}`]),
		`X-Riferimento-Message-ID: ${options.originalMessageId}`,
		`X-Destinatario: ${options.recipient}`,
		'MIME-Version: 1.0',
		'Content-Type: text/plain; charset=utf-8',
		'',
		`Ricevuta di ${options.kind} del messaggio ${options.originalMessageId}.`,
		...(options.error ? [`Errore: ${options.error}`] : []),
		'',
	].join('\r\n');
}
