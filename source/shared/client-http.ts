import {hmacHex} from './crypto.js';
import type {TenantAuth} from './schemas/tenant.js';

/** The Authorization header for credentials the proxy presents to a client. */
export function authorizationHeader(auth: TenantAuth | null | undefined): Record<string, string> {
	if (auth?.method === 'bearer' && auth.token) {
		return {Authorization: `Bearer ${auth.token}`};
	}

	if (auth?.method === 'basic' && auth.user) {
		return {Authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password ?? ''}`).toString('base64')}`};
	}

	return {};
}

/**
 * Signature headers of rest-api §3.7 (callbacks and the attachment endpoint):
 * `X-Mail-Proxy-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`.
 */
export function signatureHeaders(secret: string | null, body: string, nowSeconds: number): Record<string, string> {
	if (!secret) {
		return {};
	}

	const timestamp = String(nowSeconds);
	return {'X-Mail-Proxy-Timestamp': timestamp, 'X-Mail-Proxy-Signature': `sha256=${hmacHex(secret, `${timestamp}.${body}`)}`};
}
