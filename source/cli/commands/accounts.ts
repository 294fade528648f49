import {usageError} from '../../shared/errors.js';
import {accountInfo, addAccount, deleteAccount, getAccount, listAccounts, type AccountInfo} from '../../shared/operations/accounts.js';
import {getTenant} from '../../shared/operations/tenants.js';
import {AccountPayload} from '../../shared/schemas/account.js';
import {Id} from '../../shared/schemas/common.js';
import {parse} from '../args.js';
import {withStore} from '../instance.js';
import {askMissing, cliContext, missingFlags, validateFlags} from '../ops.js';
import {paint, printFields, printJson, printTable} from '../output.js';
import {confirmOrForce} from '../tty.js';
import type {FormField} from '../ui/form.js';
import type {TenantScope} from './tenant.js';

const FLAG_NAMES: Record<string, string> = {
	id: '<id>',
	host: '--host',
	port: '--port',
	user: '--user',
	password: '--password',
	tls_mode: '--tls',
	batch_size: '--batch-size',
	ttl: '--ttl',
	limit_per_minute: '--limit-minute',
	limit_per_hour: '--limit-hour',
	limit_per_day: '--limit-day',
	limit_behavior: '--limit-behavior',
	is_pec_account: '--pec',
	imap_host: '--imap-host',
	imap_port: '--imap-port',
	imap_user: '--imap-user',
	imap_password: '--imap-password',
	imap_ssl: '--imap-tls',
	imap_folder: '--imap-folder',
};

const shape = AccountPayload.shape;

/** The account form: defaults shown (port 587, STARTTLS, ttl 300, limits empty = unlimited, defer). */
const FIELDS: FormField[] = [
	{name: 'id', label: 'Account id', kind: 'text', schema: Id},
	{name: 'host', label: 'SMTP host', kind: 'text', schema: shape.host},
	{name: 'port', label: 'SMTP port', kind: 'int', default: '587', schema: shape.port},
	{name: 'user', label: 'User', kind: 'text', optional: true, hint: 'no AUTH', schema: shape.user},
	{name: 'password', label: 'Password', kind: 'secret', optional: true, hint: 'none', schema: shape.password, when: v => v['user'] !== undefined},
	{name: 'tls', label: 'TLS', kind: 'choice', choices: ['starttls', 'ssl', 'none'], default: 'starttls'},
	{name: 'ttl', label: 'Idle connection TTL (s)', kind: 'int', default: '300', schema: shape.ttl},
	{name: 'batchSize', label: 'Messages per cycle', kind: 'int', optional: true, hint: 'instance default', schema: shape.batch_size},
	{name: 'limitMinute', label: 'Sends per minute', kind: 'int', optional: true, hint: 'unlimited', schema: shape.limit_per_minute},
	{name: 'limitHour', label: 'Sends per hour', kind: 'int', optional: true, hint: 'unlimited', schema: shape.limit_per_hour},
	{name: 'limitDay', label: 'Sends per day', kind: 'int', optional: true, hint: 'unlimited', schema: shape.limit_per_day},
	{name: 'limitBehavior', label: 'Over the limit', kind: 'choice', choices: ['defer', 'reject'], default: 'defer'},
];

const addFlags = {
	host: {type: 'string'},
	port: {type: 'number'},
	user: {type: 'string'},
	password: {type: 'string'},
	tls: {type: 'string'},
	batchSize: {type: 'number'},
	ttl: {type: 'number'},
	limitMinute: {type: 'number'},
	limitHour: {type: 'number'},
	limitDay: {type: 'number'},
	limitBehavior: {type: 'string'},
	pec: {type: 'boolean'},
	imapHost: {type: 'string'},
	imapPort: {type: 'number'},
	imapUser: {type: 'string'},
	imapPassword: {type: 'string'},
	imapFolder: {type: 'string'},
	imapTls: {type: 'boolean'},
	json: {type: 'boolean'},
} as const;

type AddValues = {id?: string; host?: string; port?: number; user?: string; password?: string; tls?: string; batchSize?: number; ttl?: number; limitMinute?: number; limitHour?: number; limitDay?: number; limitBehavior?: string;
	pec?: boolean; imapHost?: string; imapPort?: number; imapUser?: string; imapPassword?: string; imapFolder?: string; imapTls?: boolean;
};

function printAccount(info: AccountInfo): void {
	const limit = (value: number | null) => (value ? String(value) : '∞');
	printFields([
		['id', info.id],
		['tenant', info.tenant_id],
		['server', `${info.host}:${info.port}`],
		['tls', info.tls_mode ?? (info.use_tls === null ? 'auto' : info.use_tls ? 'on' : 'off')],
		['user', info.user ?? '(no AUTH)'],
		['password', paint('dim', '(never shown)')],
		['idle ttl', `${info.ttl} s`],
		['batch size', info.batch_size ?? 'instance default'],
		['limits', `${limit(info.limit_per_minute)}/min, ${limit(info.limit_per_hour)}/hour, ${limit(info.limit_per_day)}/day (${info.limit_behavior})`],
		['pec', info.is_pec_account ? `yes (IMAP ${info.imap_host ? `${info.imap_host}:${info.imap_port} ${info.imap_folder}${info.imap_ssl ? ', TLS' : ''}` : 'not set'})` : 'no'],
		['created', info.created_at],
		['updated', info.updated_at],
	]);
}

async function add(scope: TenantScope, argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, {
		help: `mail-proxy <instance> <tenant> accounts add [<id>] [options]

Adds (or replaces) an SMTP account. In a terminal, missing values are asked for.
  --host H                SMTP server (required)
  --port P                default 587
  --user U --password P   AUTH credentials (both, or none)
  --tls MODE              starttls (default) | ssl | none
  --ttl S                 idle lifetime of pooled connections (default 300)
  --batch-size N          messages per dispatch cycle (default: instance setting)
  --limit-minute N --limit-hour N --limit-day N   rate limits (empty = unlimited)
  --limit-behavior B      defer (default) | reject
  --pec                   a PEC account: its IMAP mailbox is polled for receipts
  --imap-host H --imap-port P (993) --imap-user U --imap-password P --imap-folder F (INBOX)
  --imap-tls | --no-imap-tls   receipts mailbox (user and password default to the SMTP ones)
  --json                  print the result as JSON`,
		flags: addFlags,
		args: [0, 1],
	});
	let values: AddValues = {...flags, id: input[0]};
	const missing = missingFlags(values, [['id', '<id>'], ['host', '--host']]);
	if (missing.length > 0) {
		const answered = await askMissing(values, missing.join(', '), `New SMTP account for tenant '${scope.tenantId}'`, FIELDS);
		if (!answered) {
			return 1;
		}

		values = answered;
	}

	const payload = validateFlags(
		AccountPayload,
		{
			id: values.id,
			tenant_id: scope.tenantId,
			host: values.host,
			port: values.port ?? 587,
			user: values.user,
			password: values.password,
			tls_mode: values.tls ?? 'starttls',
			ttl: values.ttl,
			batch_size: values.batchSize,
			limit_per_minute: values.limitMinute,
			limit_per_hour: values.limitHour,
			limit_per_day: values.limitDay,
			limit_behavior: values.limitBehavior,
			is_pec_account: values.pec,
			imap_host: values.imapHost,
			imap_port: values.imapPort ?? (values.imapTls === false ? 143 : undefined),
			imap_user: values.imapUser,
			imap_password: values.imapPassword,
			imap_ssl: values.imapTls,
			imap_folder: values.imapFolder,
		},
		FLAG_NAMES,
	);
	return withStore(scope.paths, async store => {
		const context = cliContext(scope.paths, store);
		const result = addAccount(context, scope.tenantId, payload);
		await context.flush();
		if (flags.json) {
			printJson(result);
		} else {
			process.stdout.write(`account '${payload.id}' saved for tenant '${scope.tenantId}' (${payload.host}:${payload.port}, ${payload.tls_mode})\n`);
		}

		return 0;
	});
}

async function list(scope: TenantScope, argv: string[]): Promise<number> {
	const {flags} = parse(argv, {help: 'mail-proxy <instance> <tenant> accounts list [--json]', flags: {json: {type: 'boolean'}}});
	return withStore(scope.paths, store => {
		getTenant(store, scope.tenantId);
		const accounts = listAccounts(store, scope.tenantId);
		if (flags.json) {
			printJson(accounts);
			return 0;
		}

		printTable(
			accounts,
			[
				{header: 'ID', value: a => a.id},
				{header: 'SERVER', value: a => `${a.host}:${a.port}`},
				{header: 'TLS', value: a => a.tls_mode ?? 'auto'},
				{header: 'USER', value: a => a.user},
				{header: 'LIMITS (min/hour/day)', value: a => [a.limit_per_minute, a.limit_per_hour, a.limit_per_day].map(v => v || '∞').join('/')},
				{header: 'PEC', value: a => (a.is_pec_account ? 'yes' : '')},
			],
			'no accounts — add one with `accounts add`',
		);
		return 0;
	});
}

async function show(scope: TenantScope, argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, {help: 'mail-proxy <instance> <tenant> accounts show <id> [--json]', flags: {json: {type: 'boolean'}}, args: [1, 1]});
	return withStore(scope.paths, store => {
		const info = accountInfo(getAccount(store, scope.tenantId, input[0]!));
		if (flags.json) {
			printJson(info);
		} else {
			printAccount(info);
		}

		return 0;
	});
}

async function remove(scope: TenantScope, argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, {help: 'mail-proxy <instance> <tenant> accounts delete <id> [--force]\n\nDeletes the account and its messages.', flags: {force: {type: 'boolean'}}, args: [1, 1]});
	const id = input[0]!;
	return withStore(scope.paths, async store => {
		getAccount(store, scope.tenantId, id);
		if (!(await confirmOrForce(`Delete account '${id}' of tenant '${scope.tenantId}' and its messages?`, flags.force))) {
			process.stdout.write('nothing deleted\n');
			return 1;
		}

		const context = cliContext(scope.paths, store);
		deleteAccount(context, scope.tenantId, id);
		await context.flush();
		process.stdout.write(`account '${id}' deleted\n`);
		return 0;
	});
}

const SUBCOMMANDS: Record<string, (scope: TenantScope, argv: string[]) => Promise<number>> = {list, show, add, delete: remove};

export async function accounts(scope: TenantScope, argv: string[]): Promise<number> {
	const [sub, ...rest] = argv;
	const run = sub === undefined ? undefined : SUBCOMMANDS[sub];
	if (!run) {
		if (sub === undefined || sub === '--help') {
			process.stdout.write('Usage: mail-proxy <instance> <tenant> accounts list|show|add|delete ...\n');
			return sub === undefined ? 2 : 0;
		}

		throw usageError(`unknown accounts command '${sub}' (list, show, add, delete)`);
	}

	return run(scope, rest);
}
