import crypto from 'node:crypto';
import fs from 'node:fs';
import {failure} from './errors.js';

/** 32 random bytes, base64url: 43 characters. Used for the admin token and tenant API keys. */
export function newToken(): string {
	return crypto.randomBytes(32).toString('base64url');
}

export function sha256Hex(value: string): string {
	return crypto.createHash('sha256').update(value).digest('hex');
}

export function sha256(value: string): Buffer {
	return crypto.createHash('sha256').update(value).digest();
}

/** Constant-time comparison of two tokens (their digests, so lengths never leak). */
export function tokensEqual(presented: string, expected: string): boolean {
	return crypto.timingSafeEqual(sha256(presented), sha256(expected));
}

/** Constant-time comparison of two SHA-256 digests. */
export function digestsEqual(a: Buffer, b: Buffer): boolean {
	return crypto.timingSafeEqual(a, b);
}

export function hmacHex(secret: string | Buffer, data: string | Buffer): string {
	return crypto.createHmac('sha256', secret).update(data).digest('hex');
}

const PREFIX = 'ENC:';
const CHECK_VALUE = 'mail-proxy-encryption-check';

/**
 * AES-256-GCM for credentials at rest. Stored form: `ENC:<base64(nonce 12 | ciphertext | tag 16)>`;
 * the additional data binds a value to its `<table>.<column>` so it cannot be moved elsewhere.
 */
export class SecretBox {
	readonly #key: Buffer;

	constructor(key: Buffer) {
		if (key.length !== 32) {
			throw failure('encryption key must be exactly 32 bytes');
		}

		this.#key = key;
	}

	encrypt(plain: string, aad: string): string {
		const nonce = crypto.randomBytes(12);
		const cipher = crypto.createCipheriv('aes-256-gcm', this.#key, nonce);
		cipher.setAAD(Buffer.from(aad));
		const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
		return PREFIX + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
	}

	decrypt(stored: string, aad: string): string {
		if (!stored.startsWith(PREFIX)) {
			throw failure(`value for ${aad} is not encrypted`);
		}

		const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
		const decipher = crypto.createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
		decipher.setAAD(Buffer.from(aad));
		decipher.setAuthTag(raw.subarray(raw.length - 16));
		return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
	}

	encryptOptional(plain: string | null | undefined, aad: string): string | null {
		return plain === null || plain === undefined ? null : this.encrypt(plain, aad);
	}

	decryptOptional(stored: string | null | undefined, aad: string): string | null {
		return stored === null || stored === undefined ? null : this.decrypt(stored, aad);
	}

	/** A known value encrypted at creation; decrypting it at start proves the key is the right one. */
	makeCheck(): string {
		return this.encrypt(CHECK_VALUE, 'instance_config.encryption_check');
	}

	verifyCheck(stored: string): boolean {
		try {
			return this.decrypt(stored, 'instance_config.encryption_check') === CHECK_VALUE;
		} catch {
			return false;
		}
	}
}

/** The key comes from MAIL_PROXY_ENCRYPTION_KEY (base64 of 32 bytes) or the instance key file. */
export function loadKey(keyFile: string, env: NodeJS.ProcessEnv = process.env): Buffer {
	const fromEnv = env['MAIL_PROXY_ENCRYPTION_KEY'];
	if (fromEnv !== undefined && fromEnv !== '') {
		const key = Buffer.from(fromEnv, 'base64');
		if (key.length !== 32) {
			throw failure('MAIL_PROXY_ENCRYPTION_KEY must be the base64 encoding of exactly 32 bytes');
		}

		return key;
	}

	try {
		const key = fs.readFileSync(keyFile);
		if (key.length !== 32) {
			throw failure(`key file ${keyFile} is damaged (expected 32 bytes)`);
		}

		return key;
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
			throw failure(`key file ${keyFile} is missing: stored secrets cannot be read`);
		}

		throw error;
	}
}

export function newKey(): Buffer {
	return crypto.randomBytes(32);
}
