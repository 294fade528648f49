import {MASK} from './schemas/common.js';

const SECRET_KEYS = new Set(['password', 'imap_password', 'client_signing_secret', 'api_token', 'bounce_imap_password', 'token', 'api_key']);

/** Command-log payloads (engine §17): secrets become `***`, base64 attachment data over 1 KiB a summary. */
function isInlineData(attachment: Record<string, unknown>, path: string): boolean {
	return attachment['fetch_mode'] === 'base64' || (attachment['fetch_mode'] === undefined && path.startsWith('base64:'));
}

/**
 * The redacted JSON text of a payload in one pass (no intermediate copy): what the command log stores.
 * `rewrite` replaces the values of the named keys (e.g. message bodies summarized).
 */
export function redactedJson(value: unknown, rewrite?: Record<string, (value: unknown) => unknown>): string {
	return JSON.stringify(value, function (this: Record<string, unknown>, key: string, item: unknown) {
		if (key === '') {
			return item;
		}

		if (SECRET_KEYS.has(key) && item !== null && item !== undefined && item !== '') {
			return MASK;
		}

		if (key === 'storage_path' && typeof item === 'string' && item.length > 1024 && isInlineData(this, item)) {
			return `base64:<redacted ${Buffer.byteLength(item.replace(/^base64:/, ''))} bytes>`;
		}

		return rewrite?.[key] ? rewrite[key](item) : item;
	}) ?? 'null';
}
