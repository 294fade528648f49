import {isoNow} from '../clock.js';
import type {Account} from '../db/accounts.js';
import type {Store} from '../db/store.js';
import {refused} from '../errors.js';
import type {AccountPayload} from '../schemas/account.js';
import {recorded, type OpContext} from './context.js';

/** `AccountInfo`: the payload fields without passwords, plus timestamps. */
export type AccountInfo = Omit<Account, 'password' | 'imap_password' | 'imap_last_uid' | 'imap_uidvalidity' | 'imap_last_sync'>;

export function accountInfo(account: Account): AccountInfo {
	const {password: _password, imap_password: _imapPassword, imap_last_uid: _uid, imap_uidvalidity: _validity, imap_last_sync: _sync, ...info} = account;
	return info;
}

/** On update, an absent/null password keeps the stored one and `""` clears it. */
function keepOrSet(given: string | null | undefined, stored: string | null | undefined): string | null {
	if (given === undefined || given === null) {
		return stored ?? null;
	}

	return given === '' ? null : given;
}

/** `POST /account`: upsert; the tenant must exist. Updating closes the account's pooled connections. */
export function addAccount({store, effects}: OpContext, tenantId: string, input: AccountPayload): {ok: true} {
	const payload = {...input, tenant_id: tenantId};
	return recorded(store, {endpoint: 'addAccount', tenantId, payload}, () => {
		store.transaction(() => {
			if (!store.tenants.exists(tenantId)) {
				throw refused('tenant not found');
			}

			const existing = store.accounts.get(tenantId, input.id);
			store.accounts.upsert(
				{
					tenant_id: tenantId,
					id: input.id,
					host: input.host,
					port: input.port,
					user: input.user ?? null,
					password: keepOrSet(input.password, existing?.password),
					ttl: input.ttl,
					limit_per_minute: input.limit_per_minute ?? null,
					limit_per_hour: input.limit_per_hour ?? null,
					limit_per_day: input.limit_per_day ?? null,
					limit_behavior: input.limit_behavior,
					use_tls: input.use_tls ?? null,
					tls_mode: input.tls_mode ?? null,
					batch_size: input.batch_size ?? null,
					is_pec_account: input.is_pec_account,
					imap_host: input.imap_host ?? null,
					imap_port: input.imap_port,
					imap_user: input.imap_user ?? null,
					imap_password: keepOrSet(input.imap_password, existing?.imap_password),
					imap_ssl: input.imap_ssl,
					imap_folder: input.imap_folder,
				},
				isoNow(store.clock),
			);
		});
		effects?.accountsChanged?.(tenantId, input.id);
		return {ok: true as const};
	});
}

export function listAccounts(store: Store, tenantId: string): AccountInfo[] {
	return store.accounts.list(tenantId).map(account => accountInfo(account));
}

export function getAccount(store: Store, tenantId: string, accountId: string): Account {
	const account = store.accounts.get(tenantId, accountId);
	if (!account) {
		throw refused('account not found or not owned by tenant');
	}

	return account;
}

/** `DELETE /account/{id}`: the account, its messages (any state), their events and its send-log rows. */
export function deleteAccount({store, effects}: OpContext, tenantId: string, accountId: string): {ok: true} {
	return recorded(store, {endpoint: 'deleteAccount', tenantId, payload: {tenant_id: tenantId, account_id: accountId}}, () => {
		store.transaction(() => {
			if (!store.accounts.get(tenantId, accountId)) {
				throw refused('account not found or not owned by tenant');
			}

			store.messages.deleteByAccount(tenantId, accountId);
			store.sendLog.deleteAccount(tenantId, accountId);
			store.accounts.delete(tenantId, accountId);
		});
		effects?.accountsChanged?.(tenantId, accountId);
		return {ok: true as const};
	});
}
