import {STATUSES, type MessageStatus} from '../../shared/db/messages.js';
import {usageError} from '../../shared/errors.js';
import {enqueueRaw} from '../../shared/operations/send-raw.js';
import {activate, deleteMessages, getMessage, listMessages, runNow, suspend, type MessageRecord} from '../../shared/operations/queue.js';
import {getTenant} from '../../shared/operations/tenants.js';
import {normalizePriority, PRIORITY_NAMES} from '../../shared/schemas/message.js';
import {parse, readFileArgument} from '../args.js';
import {withStore} from '../instance.js';
import {cliContext} from '../ops.js';
import {paint, printFields, printJson, printTable, renderCsv, type Column} from '../output.js';
import {confirmOrForce} from '../tty.js';
import type {TenantScope} from './tenant.js';

const STATUS_COLOR: Partial<Record<MessageStatus, 'green' | 'red' | 'yellow' | 'cyan' | 'dim'>> = {sent: 'green', error: 'red', bounced: 'red', deferred: 'yellow', suspended: 'dim', sending: 'cyan'};

function when(epoch: number | undefined | null): string {
	return epoch === undefined || epoch === null ? '' : new Date(epoch * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

function detail(record: MessageRecord): string {
	if (record.status === 'error') {
		return record.error ?? '';
	}

	if (record.status === 'bounced') {
		return `${record.bounce_type} bounce: ${record.bounce_category ?? ''} ${record.bounce_reason ?? ''}`.trim();
	}

	if (record.status === 'deferred') {
		return `until ${when(record.deferred_ts)}`;
	}

	if (record.status === 'sent') {
		return `sent ${when(record.sent_ts)}`;
	}

	return record.batch_code ? `batch ${record.batch_code}` : '';
}

const recipients = (record: MessageRecord) => ((record.message['to'] as string[] | undefined) ?? []).join(', ');

const CSV_COLUMNS: Array<Column<MessageRecord>> = [
	{header: 'pk', value: r => r.pk},
	{header: 'id', value: r => r.id},
	{header: 'status', value: r => r.status},
	{header: 'priority', value: r => r.priority},
	{header: 'account_id', value: r => r.account_id},
	{header: 'batch_code', value: r => r.batch_code},
	{header: 'to', value: recipients},
	{header: 'subject', value: r => r.message['subject'] as string},
	{header: 'created_at', value: r => r.created_at},
	{header: 'deferred_ts', value: r => r.deferred_ts},
	{header: 'sent_ts', value: r => r.sent_ts},
	{header: 'error', value: r => r.error},
	{header: 'bounce_type', value: r => r.bounce_type},
];

async function list(scope: TenantScope, argv: string[]): Promise<number> {
	const {flags} = parse(argv, {
		help: `mail-proxy <instance> <tenant> messages list [--status S] [--account A] [--limit N] [--json | --csv]

  --status S    pending | deferred | suspended | sending | sent | error | bounced | all (default all)
  --account A   only this account's messages
  --limit N     at most N messages (default 100; 0 = no limit)`,
		flags: {status: {type: 'string', default: 'all'}, account: {type: 'string'}, limit: {type: 'number', default: 100}, json: {type: 'boolean'}, csv: {type: 'boolean'}},
	});
	if (flags.status !== 'all' && !STATUSES.includes(flags.status as MessageStatus)) {
		throw usageError(`--status must be one of ${STATUSES.join(', ')}, all`);
	}

	if (!Number.isInteger(flags.limit) || flags.limit < 0) {
		throw usageError('--limit must be a non-negative integer');
	}

	return withStore(scope.paths, store => {
		getTenant(store, scope.tenantId);
		const records = listMessages(store, scope.tenantId, {
			status: flags.status === 'all' ? undefined : (flags.status as MessageStatus),
			accountId: flags.account,
			limit: flags.limit === 0 ? undefined : flags.limit,
		});
		if (flags.json) {
			printJson(records);
		} else if (flags.csv) {
			process.stdout.write(renderCsv(records, CSV_COLUMNS));
		} else {
			printTable(
				records,
				[
					{header: 'ID', value: r => r.id},
					{header: 'STATUS', value: r => paint(STATUS_COLOR[r.status] ?? 'cyan', r.status)},
					{header: 'PRIO', value: r => PRIORITY_NAMES[r.priority]},
					{header: 'ACCOUNT', value: r => r.account_id},
					{header: 'TO', value: recipients},
					{header: 'SUBJECT', value: r => r.message['subject'] as string},
					{header: 'CREATED', value: r => r.created_at.replace('T', ' ')},
					{header: 'DETAIL', value: detail},
				],
				'no messages',
			);
		}

		return 0;
	});
}

async function show(scope: TenantScope, argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, {
		help: 'mail-proxy <instance> <tenant> messages show <id> [--history] [--json]\n\nOne message; --history adds its events (attempts, deferrals, reports, bounces).',
		flags: {history: {type: 'boolean'}, json: {type: 'boolean'}},
		args: [1, 1],
	});
	return withStore(scope.paths, store => {
		const record = getMessage(store, scope.tenantId, input[0]!, Boolean(flags.history));
		if (flags.json) {
			printJson(record);
			return 0;
		}

		printFields([
			['id', record.id],
			['pk', record.pk],
			['status', paint(STATUS_COLOR[record.status] ?? 'cyan', record.status)],
			['priority', PRIORITY_NAMES[record.priority]],
			['account', record.account_id],
			['batch', record.batch_code],
			['from', record.message['from'] as string],
			['to', recipients(record)],
			['subject', record.message['subject'] as string],
			['created', record.created_at],
			['not before', when(record.deferred_ts)],
			['sent', when(record.sent_ts)],
			['error', record.error],
			['bounce', record.bounce_type ? `${record.bounce_type} (${record.bounce_category ?? ''}) ${record.bounce_reason ?? ''}` : null],
			['reported', when(record.reported_ts)],
		]);
		if (record.history) {
			process.stdout.write('\n');
			printTable(record.history, [
				{header: 'EVENT', value: e => e.event_id},
				{header: 'TYPE', value: e => e.event_type},
				{header: 'TIME', value: e => when(e.event_ts)},
				{header: 'DESCRIPTION', value: e => e.description},
				{header: 'REPORTED', value: e => when(e.reported_ts)},
			], 'no events yet');
		}

		return 0;
	});
}

async function remove(scope: TenantScope, argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, {
		help: 'mail-proxy <instance> <tenant> messages delete <id>... [--force] [--json]\n\nDeletes messages of this tenant whatever their state.',
		flags: {force: {type: 'boolean'}, json: {type: 'boolean'}},
		args: [1, 10_000],
	});
	return withStore(scope.paths, async store => {
		getTenant(store, scope.tenantId);
		if (!(await confirmOrForce(`Delete ${input.length} message(s) of tenant '${scope.tenantId}'?`, flags.force))) {
			process.stdout.write('nothing deleted\n');
			return 1;
		}

		const context = cliContext(scope.paths, store);
		const result = deleteMessages(context, scope.tenantId, input);
		await context.flush();
		if (flags.json) {
			printJson(result);
		} else {
			process.stdout.write(`${result.removed} deleted${result.not_found.length > 0 ? `; not found: ${result.not_found.join(', ')}` : ''}\n`);
		}

		return result.not_found.length > 0 && result.removed === 0 ? 1 : 0;
	});
}

export async function messages(scope: TenantScope, argv: string[]): Promise<number> {
	const [sub, ...rest] = argv;
	const commands: Record<string, (scope: TenantScope, argv: string[]) => Promise<number>> = {list, show, delete: remove};
	const run = sub === undefined ? undefined : commands[sub];
	if (!run) {
		if (sub === undefined || sub === '--help') {
			process.stdout.write('Usage: mail-proxy <instance> <tenant> messages list|show|delete ...\n');
			return sub === undefined ? 2 : 0;
		}

		throw usageError(`unknown messages command '${sub}' (list, show, delete)`);
	}

	return run(scope, rest);
}

function parsePriority(value: string | undefined): number {
	if (value === undefined) {
		return 2;
	}

	if (!/^\d+$/.test(value) && !(PRIORITY_NAMES as readonly string[]).includes(value)) {
		throw usageError('--priority must be immediate, high, medium, low or 0-3');
	}

	return normalizePriority(value);
}

export async function send(scope: TenantScope, argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, {
		help: `mail-proxy <instance> <tenant> send <file.eml> [--account A] [--priority P] [--id ID] [--to ADDR]... [--json]

Enqueues an RFC 822 file as is: every part and attachment is sent byte for byte. The envelope comes
from its headers (Return-Path, else From; To, Cc and Bcc) unless --to is given. Prints the message id.
  --account A    SMTP account (needed when the tenant has several)
  --priority P   immediate | high | medium | low | 0-3 (default medium)
  --id ID        message id (default eml-<pk>)
  --to ADDR      recipient (repeatable); replaces the file's recipients`,
		flags: {account: {type: 'string'}, priority: {type: 'string'}, id: {type: 'string'}, to: {type: 'string', isMultiple: true}, json: {type: 'boolean'}},
		args: [1, 1],
	});
	const file = input[0]!;
	const raw = readFileArgument(file);

	const priority = parsePriority(flags.priority);
	return withStore(scope.paths, async store => {
		getTenant(store, scope.tenantId);
		const context = cliContext(scope.paths, store);
		const result = await enqueueRaw(context, scope.tenantId, raw, {accountId: flags.account, priority, id: flags.id, to: flags.to?.length ? flags.to : undefined});
		await context.flush();
		if (flags.json) {
			printJson(result);
		} else {
			process.stdout.write(`${result.id}\n`);
		}

		return 0;
	});
}

export async function pause(scope: TenantScope, argv: string[], resume: boolean): Promise<number> {
	const verb = resume ? 'activate' : 'suspend';
	const {flags} = parse(argv, {
		help: `mail-proxy <instance> <tenant> ${verb} [--batch CODE] [--json]\n\n${resume ? 'Resumes' : 'Pauses'} sending for the tenant, or for one batch. Queued messages keep their place.`,
		flags: {batch: {type: 'string'}, json: {type: 'boolean'}},
	});
	return withStore(scope.paths, async store => {
		const context = cliContext(scope.paths, store);
		const result = (resume ? activate : suspend)(context, scope.tenantId, flags.batch);
		await context.flush();
		if (flags.json) {
			printJson(result);
		} else {
			const state = result.suspended_batches.length === 0 ? 'sending normally' : result.suspended_batches.includes('*') ? 'all sending suspended' : `suspended batches: ${result.suspended_batches.join(', ')}`;
			process.stdout.write(`tenant '${scope.tenantId}': ${state} (${result.pending_messages} pending${flags.batch ? ` in batch ${flags.batch}` : ''})\n`);
		}

		return 0;
	});
}

export async function wake(scope: TenantScope, argv: string[]): Promise<number> {
	parse(argv, {help: 'mail-proxy <instance> <tenant> run-now\n\nWakes dispatch and delivery reporting now; cancels do-not-disturb and forces a report to the tenant.', flags: {}});
	return withStore(scope.paths, async store => {
		getTenant(store, scope.tenantId);
		const context = cliContext(scope.paths, store);
		runNow(context, scope.tenantId);
		await context.flush();
		process.stdout.write(`run-now sent for tenant '${scope.tenantId}'\n`);
		return 0;
	});
}
