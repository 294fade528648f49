import {MASK} from './schemas/common.js';

const SECRET_KEYS = new Set(['password', 'imap_password', 'client_signing_secret', 'api_token', 'bounce_imap_password', 'token', 'api_key']);

function isInlineData(attachment: Record<string, unknown>, path: string): boolean {
	return attachment['fetch_mode'] === 'base64' || (attachment['fetch_mode'] === undefined && path.startsWith('base64:'));
}

/**
 * A copy of a command payload safe to store in the command log (engine §17): secrets become `***`,
 * base64 attachment data over 1 KiB becomes `base64:<redacted N bytes>`.
 */
export function redact(value: unknown, rewrite?: Record<string, (value: unknown) => unknown>): unknown {
	if (Array.isArray(value)) {
		return value.map(item => redact(item, rewrite));
	}

	if (value === null || typeof value !== 'object') {
		return value;
	}

	const record = value as Record<string, unknown>;
	const out: Record<string, unknown> = {};
	for (const [name, item] of Object.entries(record)) {
		if (SECRET_KEYS.has(name) && item !== null && item !== undefined && item !== '') {
			out[name] = MASK;
		} else if (name === 'storage_path' && typeof item === 'string' && item.length > 1024 && isInlineData(record, item)) {
			out[name] = `base64:<redacted ${Buffer.byteLength(item.replace(/^base64:/, ''))} bytes>`;
		} else if (rewrite?.[name]) {
			out[name] = rewrite[name](item);
		} else {
			out[name] = redact(item, rewrite);
		}
	}

	return out;
}
