import {newToken} from '../crypto.js';
import type {Store} from '../db/store.js';
import {usageError} from '../errors.js';

export function readAdminToken(store: Store): string | undefined {
	return store.config.getSecret('api_token');
}

/** Replaces the stored admin token; the running daemon picks it up on its next request. */
export function setAdminToken(store: Store, token: string): void {
	if (token.length < 32) {
		throw usageError('api_token: String should have at least 32 characters');
	}

	store.config.setSecret('api_token', token);
}

export function regenerateAdminToken(store: Store): string {
	const token = newToken();
	setAdminToken(store, token);
	return token;
}
