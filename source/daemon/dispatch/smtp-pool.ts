import nodemailer, {type Transporter} from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type {Account} from '../../shared/db/accounts.js';

export type TlsMode = 'ssl' | 'starttls' | 'none' | 'opportunistic';

/** engine §6: `tls_mode` wins over `use_tls`; unset → implicit TLS on 465, opportunistic STARTTLS elsewhere. */
export function tlsModeOf(account: Pick<Account, 'tls_mode' | 'use_tls' | 'port'>): TlsMode {
	if (account.tls_mode) {
		return account.tls_mode;
	}

	if (account.use_tls === true) {
		return account.port === 465 ? 'ssl' : 'starttls';
	}

	if (account.use_tls === false) {
		return 'none';
	}

	return account.port === 465 ? 'ssl' : 'opportunistic';
}

export function transportOptions(account: Account): SMTPPool.Options {
	const mode = tlsModeOf(account);
	const auth = account.user && account.password ? {user: account.user, pass: account.password} : undefined;
	return {
		pool: true,
		host: account.host,
		port: account.port,
		secure: mode === 'ssl',
		requireTLS: mode === 'starttls',
		ignoreTLS: mode === 'none',
		// Opportunistic STARTTLS does not verify the certificate (MTA practice); the explicit modes do.
		tls: {rejectUnauthorized: mode !== 'opportunistic'},
		auth,
		maxConnections: 5,
		maxMessages: 100,
		idleTimeout: Math.max(1, account.ttl) * 1000,
		connectionTimeout: 10_000,
		greetingTimeout: 15_000,
		socketTimeout: 30_000,
		disableFileAccess: true,
		disableUrlAccess: true,
	} as SMTPPool.Options;
}

type Entry = {transport: Transporter; version: string};

/**
 * One pooled nodemailer transport per account (key `host:port:user:tls-mode`, at most 5 connections,
 * idle ones closed after the account's ttl). A transport is rebuilt when its account changes.
 */
export class SmtpPool {
	readonly #entries = new Map<string, Entry>();

	transportFor(account: Account): Transporter {
		const key = `${account.tenant_id}\u0000${account.id}`;
		// The account's updated_at changes with every upsert (credentials included).
		const version = `${account.host}:${account.port}:${account.user ?? ''}:${tlsModeOf(account)}:${account.updated_at}:${account.ttl}`;
		const existing = this.#entries.get(key);
		if (existing && existing.version === version) {
			return existing.transport;
		}

		existing?.transport.close();
		const transport = nodemailer.createTransport(transportOptions(account));
		this.#entries.set(key, {transport, version});
		return transport;
	}

	/** Closes the connections of one account (deleted or changed), or of a whole tenant. */
	drop(tenantId: string, accountId?: string): void {
		for (const [key, entry] of this.#entries) {
			const [tenant, account] = key.split('\u0000');
			if (tenant === tenantId && (accountId === undefined || account === accountId)) {
				entry.transport.close();
				this.#entries.delete(key);
			}
		}
	}

	close(): void {
		for (const entry of this.#entries.values()) {
			entry.transport.close();
		}

		this.#entries.clear();
	}
}
