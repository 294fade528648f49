import type {BounceReport, Correlation} from '../bounce/parser.js';
import type {MessageRow} from '../db/messages.js';
import type {Store} from '../db/store.js';
import type {Receipt} from '../pec/receipt.js';

/**
 * The message a bounce or receipt is about (engine §12): the proxy's pk (tracking header, or a
 * Message-ID it generated), else the client id within the known tenant, else the client id if exactly
 * one tenant has it. No match: nothing is recorded.
 */
export function findCorrelated(store: Store, correlation: Correlation, tenantId?: string): MessageRow | undefined {
	if (correlation.pk) {
		const byPk = store.messages.get(correlation.pk);
		if (byPk && (!tenantId || byPk.tenant_id === tenantId)) {
			return byPk;
		}
	}

	if (correlation.id) {
		if (tenantId) {
			return store.messages.find(tenantId, correlation.id);
		}

		const matches = store.messages.withId(correlation.id);
		if (matches.length === 1) {
			return store.messages.get(matches[0]!.pk);
		}
	}

	return undefined;
}

export type RecordedBounce = {tenantId: string; accountId: string | null; type: 'hard' | 'soft'};

/** `5.1.1` → `511`; without a status, the SMTP reply code. */
function bounceCode(status: string | null, reply: string | null): string | null {
	return status ? status.replaceAll('.', '') : reply;
}

/** Records one `bounce` event per failed (or delayed) recipient; the same notice twice is recorded once. */
export function recordBounce(store: Store, report: BounceReport, now: number): RecordedBounce[] {
	const message = findCorrelated(store, report.correlation);
	if (!message) {
		return [];
	}

	const recorded: RecordedBounce[] = [];
	const dsn = report.dsn_message_id ?? '';
	for (const recipient of report.recipients) {
		if (dsn && store.events.hasBounce(message.pk, dsn, recipient.recipient)) {
			continue;
		}

		const type = recipient.hard ? 'hard' : 'soft';
		store.events.insert({
			messagePk: message.pk,
			tenantId: message.tenant_id,
			type: 'bounce',
			ts: now,
			description: recipient.diagnostic ?? recipient.reason,
			metadata: {bounce_type: type, bounce_code: bounceCode(recipient.status, recipient.reply_code), reason: recipient.reason, recipient: recipient.recipient, dsn_message_id: dsn || null},
		});
		recorded.push({tenantId: message.tenant_id, accountId: message.account_id, type});
	}

	return recorded;
}

/** Records a PEC receipt for a message of `tenantId`; a failure makes the message normal mail. */
export function recordReceipt(store: Store, receipt: Receipt, tenantId: string, now: number): boolean {
	const message = findCorrelated(store, receipt.correlation, tenantId);
	if (!message) {
		return false;
	}

	store.events.insert({
		messagePk: message.pk,
		tenantId: message.tenant_id,
		type: receipt.event,
		ts: now,
		description: `PEC ${receipt.type}`,
		metadata: {pec_timestamp: receipt.timestamp, recipient: receipt.recipient, error_reason: receipt.error_reason},
	});
	if (receipt.event === 'pec_error') {
		store.messages.clearPec(message.pk);
	}

	return true;
}

/** Sent PEC messages without an acceptance within the timeout: `pec_timeout`, then treated as normal mail. */
export function expirePec(store: Store, timeoutSeconds: number, now: number): number {
	const expired = store.messages.pecTimeouts(now - timeoutSeconds);
	for (const message of expired) {
		store.events.insert({messagePk: message.pk, tenantId: message.tenant_id, type: 'pec_timeout', ts: now, description: 'PEC acceptance timeout - message treated as normal email'});
		store.messages.clearPec(message.pk);
	}

	return expired.length;
}
