import {simpleParser} from 'mailparser';
import {correlate, withoutOwnMessageId, type Correlation} from '../bounce/parser.js';

export type PecEvent = 'pec_acceptance' | 'pec_delivery' | 'pec_error' | 'pec_relay';

export type Receipt = {
	event: PecEvent;
	/** The receipt type as named by the PEC system (accettazione, avvenuta-consegna, ...). */
	type: string;
	timestamp: string | null;
	recipient: string | null;
	error_reason: string | null;
	correlation: Correlation;
};

const BY_HEADER: Record<string, PecEvent> = {
	accettazione: 'pec_acceptance',
	'avvenuta-consegna': 'pec_delivery',
	consegna: 'pec_delivery',
	'mancata-consegna': 'pec_error',
	'errore-consegna': 'pec_error',
	'non-accettazione': 'pec_error',
	'presa-in-carico': 'pec_relay',
};

/** Subject fallbacks, longer patterns first (engine §13): "AVVENUTA CONSEGNA:" contains "CONSEGNA". */
const BY_SUBJECT: Array<[string, string, PecEvent]> = [
	['POSTA CERTIFICATA: AVVENUTA CONSEGNA', 'avvenuta-consegna', 'pec_delivery'],
	['NON ACCETTAZIONE:', 'non-accettazione', 'pec_error'],
	['AVVENUTA CONSEGNA:', 'avvenuta-consegna', 'pec_delivery'],
	['MANCATA CONSEGNA:', 'mancata-consegna', 'pec_error'],
	['ERRORE CONSEGNA:', 'errore-consegna', 'pec_error'],
	['PRESA IN CARICO:', 'presa-in-carico', 'pec_relay'],
	['ACCETTAZIONE:', 'accettazione', 'pec_acceptance'],
];

function header(parsed: Awaited<ReturnType<typeof simpleParser>>, name: string): string | undefined {
	const value = parsed.headers.get(name);
	if (value === undefined || value === null) {
		return undefined;
	}

	return (value instanceof Date ? value.toISOString() : typeof value === 'object' && 'text' in value ? String((value as {text: string}).text) : String(value)).trim();
}

/**
 * Reads a PEC receipt (ricevuta): its kind from `X-Ricevuta` (else the subject), its time, the
 * recipient it is about, the error reason of a failure, and the correlation headers of the original.
 * Anything else is not a receipt (undefined).
 */
export async function parseReceipt(raw: Buffer): Promise<Receipt | undefined> {
	const parsed = await simpleParser(raw, {skipImageLinks: true, skipTextLinks: true, skipTextToHtml: true});
	const subject = parsed.subject ?? '';
	let type = header(parsed, 'x-ricevuta')?.toLowerCase();
	let event = type ? BY_HEADER[type] : undefined;
	if (!event) {
		const found = BY_SUBJECT.find(([pattern]) => subject.toUpperCase().includes(pattern));
		if (!found) {
			return undefined;
		}

		[, type, event] = found;
	}

	const dated = parsed.date ? parsed.date.toISOString() : header(parsed, 'x-data-ricevuta') ?? null;
	const recipient = header(parsed, 'x-destinatario') ?? /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/.exec(subject)?.[0] ?? null;
	let errorReason: string | null = null;
	if (event === 'pec_error') {
		errorReason = header(parsed, 'x-errore') ?? /^\s*(?:Errore|Motivo|Causa):\s*(.+)$/im.exec(parsed.text ?? '')?.[1]?.trim() ?? null;
		errorReason = errorReason ? errorReason.slice(0, 500) : null;
	}

	const parts = (parsed.attachments ?? []).map(part => part.content.toString('utf8'));
	return {event, type: type!, timestamp: dated, recipient, error_reason: errorReason, correlation: correlate([withoutOwnMessageId(raw.toString('utf8')), ...parts])};
}
