/** Temporary vs permanent failures (engine §7), and the retry schedule. */

export type Failure = {temporary: boolean; message: string; code?: number};

/** A failure raised by the proxy itself (attachments, build, rate limit, missing account). */
export class DeliveryError extends Error {
	constructor(message: string, readonly temporary: boolean, readonly code?: number) {
		super(message);
		this.name = 'DeliveryError';
	}
}

const TLS_CODES = /^(CERT_|ERR_TLS_CERT_ALTNAME_INVALID|ERR_SSL_WRONG_VERSION_NUMBER|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)|_SELF_SIGNED_/;
const NETWORK_CODES = new Set(['ETIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNECTION', 'ESOCKET', 'ETIMEOUT', 'EPROTOCOL']);
const TEMPORARY_TEXT = /421|450|451|452|timeout|timed out|connection refused|connection reset|temporarily unavailable|try again|throttl/i;
const PERMANENT_TEXT = /wrong_version_number|certificate verify failed|ssl handshake|certificate_unknown|unknown_ca|certificate has expired|self[- ]signed certificate|authentication failed|535|534|530/i;

type SmtpError = Error & {code?: string; responseCode?: number; response?: string; rejectedErrors?: SmtpError[]};

/** The SMTP reply code of a nodemailer error: its own, else that of the refused recipients. */
function replyCode(error: SmtpError): number | undefined {
	if (typeof error.responseCode === 'number') {
		return error.responseCode;
	}

	const codes = (error.rejectedErrors ?? []).map(item => item.responseCode).filter((code): code is number => typeof code === 'number');
	if (codes.length > 0) {
		// All recipients refused: temporary if any refusal was temporary.
		return codes.find(code => code >= 400 && code < 500) ?? codes[0];
	}

	return undefined;
}

function describe(error: SmtpError): string {
	const text = (error.response ?? error.message ?? String(error)).replaceAll(/\s+/g, ' ').trim();
	return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

/** Classification, first match wins (engine §7). */
export function classify(raw: unknown): Failure {
	if (raw instanceof DeliveryError) {
		return {temporary: raw.temporary, message: raw.message, code: raw.code};
	}

	const error = (raw instanceof Error ? raw : new Error(String(raw))) as SmtpError;
	const message = describe(error);
	const code = replyCode(error);
	if (code !== undefined && code >= 400 && code < 500) {
		return {temporary: true, message, code};
	}

	if (code !== undefined && code >= 500 && code < 600) {
		return {temporary: false, message, code};
	}

	const errorCode = error.code ?? '';
	if (TLS_CODES.test(errorCode) || errorCode === 'EAUTH' || errorCode === 'ETLS' || /STARTTLS/i.test(message) && /required|not supported|not offered/i.test(message)) {
		return {temporary: false, message};
	}

	if (NETWORK_CODES.has(errorCode) || /socket closed|connection closed|Timeout waiting/i.test(message)) {
		return {temporary: true, message};
	}

	if (TEMPORARY_TEXT.test(message)) {
		return {temporary: true, message};
	}

	if (PERMANENT_TEXT.test(message)) {
		return {temporary: false, message};
	}

	return {temporary: true, message};
}

/** `<error> (SMTP <code>)`, the text stored in events and reported to the client. */
export function failureText(failure: Failure): string {
	return failure.code === undefined ? failure.message : `${failure.message} (SMTP ${failure.code})`;
}

/**
 * Seconds until attempt `retryCount + 1`: `delays[min(n, len-1)]` with ±10 % jitter, rounded. `random`
 * is injectable so tests can pin it.
 */
export function retryDelay(delays: number[], retryCount: number, random: () => number = Math.random): number {
	const base = delays[Math.min(retryCount, delays.length - 1)]!;
	return Math.max(1, Math.round(base * (1 + (random() * 0.2 - 0.1))));
}
