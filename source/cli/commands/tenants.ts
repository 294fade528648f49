import {failure, usageError} from '../../shared/errors.js';
import {addTenant, deleteTenant, getTenant, listTenants, tenantInfo, updateTenant, type TenantInfo} from '../../shared/operations/tenants.js';
import type {InstancePaths} from '../../shared/paths.js';
import {ADMIN} from '../../shared/principal.js';
import {Id} from '../../shared/schemas/common.js';
import {RateLimits, TenantPayload, TenantUpdate} from '../../shared/schemas/tenant.js';
import {parse} from '../args.js';
import {withStore} from '../instance.js';
import {askMissing, cliContext, validateFlags} from '../ops.js';
import {paint, printFields, printJson, printTable} from '../output.js';
import {confirmOrForce} from '../tty.js';
import type {FormField} from '../ui/form.js';

const FLAG_NAMES: Record<string, string> = {
	id: '<id>',
	client_base_url: '--base-url',
	client_sync_path: '--sync-path',
	client_attachment_path: '--attachment-path',
	client_auth: '--auth-method',
	client_signing_secret: '--sync-secret',
	rate_limits: '--rate-limit-hourly/--rate-limit-daily',
};

const configFlags = {
	name: {type: 'string'},
	baseUrl: {type: 'string'},
	syncPath: {type: 'string'},
	attachmentPath: {type: 'string'},
	authMethod: {type: 'string'},
	authToken: {type: 'string'},
	authUser: {type: 'string'},
	authPassword: {type: 'string'},
	rateLimitHourly: {type: 'number'},
	rateLimitDaily: {type: 'number'},
	syncSecret: {type: 'string'},
	inactive: {type: 'boolean'},
	json: {type: 'boolean'},
} as const;

const CONFIG_HELP = `  --name NAME                 display name
  --base-url URL              client base URL (delivery reports, attachment endpoint)
  --sync-path PATH            report path (default /mail-proxy/sync)
  --attachment-path PATH      attachment endpoint path (default /mail-proxy/attachments)
  --auth-method M             none | bearer | basic: credentials the proxy presents to the client
  --auth-token T              bearer token
  --auth-user U --auth-password P   basic credentials
  --rate-limit-hourly N       sends per hour over all accounts (0 = unlimited)
  --rate-limit-daily N        sends per day over all accounts (0 = unlimited)
  --sync-secret S             sign delivery reports (16-256 chars; "" removes)
  --inactive                  nothing is dispatched for this tenant
  --json                      print the result as JSON`;

type ConfigValues = {
	name?: string;
	baseUrl?: string;
	syncPath?: string;
	attachmentPath?: string;
	authMethod?: string;
	authToken?: string;
	authUser?: string;
	authPassword?: string;
	rateLimitHourly?: number;
	rateLimitDaily?: number;
	syncSecret?: string;
	inactive?: boolean;
};

/** The payload fields the flags set (absent flags stay absent). */
function payloadFromFlags(flags: ConfigValues): Record<string, unknown> {
	const payload: Record<string, unknown> = {};
	const set = (key: string, value: unknown) => {
		if (value !== undefined) {
			payload[key] = value;
		}
	};

	set('name', flags.name);
	set('client_base_url', flags.baseUrl);
	set('client_sync_path', flags.syncPath);
	set('client_attachment_path', flags.attachmentPath);
	if (flags.authMethod !== undefined || flags.authToken !== undefined || flags.authUser !== undefined || flags.authPassword !== undefined) {
		const method = flags.authMethod ?? (flags.authToken ? 'bearer' : flags.authUser ? 'basic' : 'none');
		payload['client_auth'] = {method, token: flags.authToken, user: flags.authUser, password: flags.authPassword};
	}

	if (flags.rateLimitHourly !== undefined || flags.rateLimitDaily !== undefined) {
		payload['rate_limits'] = {hourly: flags.rateLimitHourly ?? 0, daily: flags.rateLimitDaily ?? 0};
	}

	set('client_signing_secret', flags.syncSecret);
	return payload;
}

function tenantFields(): FormField[] {
	return [
		{name: 'id', label: 'Tenant id', kind: 'text', schema: Id},
		{name: 'name', label: 'Name', kind: 'text', optional: true, hint: 'none', schema: TenantPayload.shape.name},
		{name: 'baseUrl', label: 'Client base URL', kind: 'text', optional: true, hint: 'no reports', schema: TenantPayload.shape.client_base_url},
		{name: 'authMethod', label: 'Client auth', kind: 'choice', choices: ['none', 'bearer', 'basic'], default: 'none', when: v => v['baseUrl'] !== undefined},
		{name: 'authToken', label: 'Bearer token', kind: 'secret', when: v => v['authMethod'] === 'bearer'},
		{name: 'authUser', label: 'Basic user', kind: 'text', when: v => v['authMethod'] === 'basic'},
		{name: 'authPassword', label: 'Basic password', kind: 'secret', when: v => v['authMethod'] === 'basic'},
		{name: 'rateLimitHourly', label: 'Sends per hour', kind: 'int', optional: true, hint: 'unlimited', schema: RateLimits.shape.hourly},
		{name: 'rateLimitDaily', label: 'Sends per day', kind: 'int', optional: true, hint: 'unlimited', schema: RateLimits.shape.daily},
	];
}

function printTenant(info: TenantInfo): void {
	printFields([
		['id', info.id],
		['name', info.name],
		['active', info.active ? 'yes' : paint('yellow', 'no')],
		['client base url', info.client_base_url],
		['sync path', info.client_sync_path ?? '/mail-proxy/sync (default)'],
		['attachment path', info.client_attachment_path ?? '/mail-proxy/attachments (default)'],
		['client auth', info.client_auth ? info.client_auth.method : 'none'],
		['signing secret', info.client_signing_secret ? 'set' : 'none'],
		['rate limits', info.rate_limits ? `${info.rate_limits.hourly || '∞'}/hour, ${info.rate_limits.daily || '∞'}/day` : 'unlimited'],
		['created', info.created_at],
		['updated', info.updated_at],
	]);
}

async function add(paths: InstancePaths, argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, {help: `mail-proxy <instance> tenants add [<id>] [options]\n\nCreates a tenant and prints its API key (shown once).\n${CONFIG_HELP}`, flags: configFlags, args: [0, 1]});
	let values: ConfigValues & {id?: string} = {...flags, id: input[0]};
	if (values.id === undefined) {
		const answered = await askMissing(values, 'tenant id: `tenants add <id>`', 'New tenant', tenantFields());
		if (!answered) {
			return 1;
		}

		values = answered;
	}

	const payload = validateFlags(TenantPayload, {id: values.id, ...payloadFromFlags(values), active: !values.inactive}, FLAG_NAMES);
	return withStore(paths, async store => {
		if (store.tenants.exists(payload.id)) {
			throw failure(`tenant '${payload.id}' already exists — change it with \`tenants update ${payload.id}\``);
		}

		const context = cliContext(paths, store);
		const result = addTenant(context, payload);
		await context.flush();
		if (flags.json) {
			printJson(result);
		} else {
			process.stdout.write(`tenant '${payload.id}' created\napi key: ${result.api_key}\n${paint('dim', '(shown once: store it now; `POST /tenant/<id>/api-key` issues a new one)')}\n`);
		}

		return 0;
	});
}

async function update(paths: InstancePaths, argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, {
		help: `mail-proxy <instance> tenants update <id> [options]\n\nChanges only the given fields.\n${CONFIG_HELP}\n  --active                    resume dispatch for an inactive tenant`,
		flags: {...configFlags, active: {type: 'boolean'}},
		args: [1, 1],
	});
	const payload = payloadFromFlags(flags);
	if (flags.inactive && flags.active) {
		throw usageError('--active and --inactive exclude each other');
	}

	if (flags.inactive || flags.active) {
		payload['active'] = Boolean(flags.active);
	}

	if (Object.keys(payload).length === 0) {
		throw usageError('nothing to change: give at least one option (see --help)');
	}

	const changes = validateFlags(TenantUpdate, payload, FLAG_NAMES);

	return withStore(paths, async store => {
		const context = cliContext(paths, store);
		const result = updateTenant(context, ADMIN, input[0]!, changes);
		await context.flush();
		if (flags.json) {
			printJson(result);
		} else {
			process.stdout.write(`tenant '${input[0]}' updated\n`);
		}

		return 0;
	});
}

async function list(paths: InstancePaths, argv: string[]): Promise<number> {
	const {flags} = parse(argv, {help: 'mail-proxy <instance> tenants list [--active-only] [--json]', flags: {activeOnly: {type: 'boolean'}, json: {type: 'boolean'}}});
	return withStore(paths, store => {
		const tenants = listTenants(store, {activeOnly: flags.activeOnly});
		if (flags.json) {
			printJson(tenants);
			return 0;
		}

		const accounts = new Map(tenants.map(t => [t.id, store.accounts.count(t.id)]));
		printTable(
			tenants,
			[
				{header: 'ID', value: t => t.id},
				{header: 'NAME', value: t => t.name},
				{header: 'ACTIVE', value: t => (t.active ? 'yes' : 'no')},
				{header: 'ACCOUNTS', value: t => accounts.get(t.id)},
				{header: 'BASE URL', value: t => t.client_base_url},
			],
			'no tenants — add one with `tenants add <id>`',
		);
		return 0;
	});
}

async function show(paths: InstancePaths, argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, {help: 'mail-proxy <instance> tenants show <id> [--json]', flags: {json: {type: 'boolean'}}, args: [1, 1]});
	return withStore(paths, store => {
		const info = tenantInfo(getTenant(store, input[0]!));
		if (flags.json) {
			printJson(info);
		} else {
			printTenant(info);
		}

		return 0;
	});
}

async function remove(paths: InstancePaths, argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, {help: 'mail-proxy <instance> tenants delete <id> [--force]\n\nDeletes the tenant with its accounts, messages and reports.', flags: {force: {type: 'boolean'}}, args: [1, 1]});
	const id = input[0]!;
	return withStore(paths, async store => {
		getTenant(store, id);
		if (!(await confirmOrForce(`Delete tenant '${id}' with its accounts and messages?`, flags.force))) {
			process.stdout.write('nothing deleted\n');
			return 1;
		}

		const context = cliContext(paths, store);
		deleteTenant(context, id);
		await context.flush();
		process.stdout.write(`tenant '${id}' deleted\n`);
		return 0;
	});
}

const SUBCOMMANDS: Record<string, (paths: InstancePaths, argv: string[]) => Promise<number>> = {list, show, add, update, delete: remove};

export async function tenants(paths: InstancePaths, argv: string[]): Promise<number> {
	const [sub, ...rest] = argv;
	const run = sub === undefined ? undefined : SUBCOMMANDS[sub];
	if (!run) {
		if (sub === undefined || sub === '--help') {
			process.stdout.write('Usage: mail-proxy <instance> tenants list|show|add|update|delete ...\n');
			return sub === undefined ? 2 : 0;
		}

		throw usageError(`unknown tenants command '${sub}' (list, show, add, update, delete)`);
	}

	return run(paths, rest);
}

export {printTenant};
