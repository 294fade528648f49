/**
 * Routing: `mail-proxy <global-command> ...`, `mail-proxy <instance> <instance-command> ...`,
 * `mail-proxy <instance> <tenant> <tenant-command> ...`. Command modules are imported lazily so that
 * quick commands (`list --json`) never load Ink, React or the daemon code.
 */
import {usageError} from '../shared/errors.js';
import {assertName} from '../shared/paths.js';
import {version} from '../shared/version.js';

type Handler = (argv: string[]) => Promise<number>;
type ScopedHandler<S> = (scope: S, argv: string[]) => Promise<number>;

const GLOBAL: Record<string, Handler> = {
	list: async argv => (await import('./commands/global.js')).list(argv),
	start: async argv => (await import('./commands/global.js')).start(argv),
	stop: async argv => (await import('./commands/global.js')).stop(argv),
	restart: async argv => (await import('./commands/global.js')).restart(argv),
	status: async argv => (await import('./commands/global.js')).status(argv),
	delete: async argv => (await import('./commands/global.js')).remove(argv),
	'parse-bounce': async argv => (await import('./commands/parse-bounce.js')).parseBounceFile(argv),
};

type InstanceScope = import('../shared/paths.js').InstancePaths;

const INSTANCE: Record<string, ScopedHandler<InstanceScope>> = {
	info: async (paths, argv) => (await import('./commands/instance.js')).info(paths, argv),
	token: async (paths, argv) => (await import('./commands/instance.js')).token(paths, argv),
	logs: async (paths, argv) => (await import('./commands/instance.js')).logs(paths, argv),
	stats: async (paths, argv) => (await import('./commands/instance.js')).stats(paths, argv),
	tenants: async (paths, argv) => (await import('./commands/tenants.js')).tenants(paths, argv),
	config: async (paths, argv) => (await import('./commands/config.js')).config(paths, argv),
	'command-log': async (paths, argv) => (await import('./commands/command-log.js')).commandLog(paths, argv),
};

type TenantScope = {paths: InstanceScope; tenantId: string};

const TENANT: Record<string, ScopedHandler<TenantScope>> = {
	info: async (scope, argv) => (await import('./commands/tenant.js')).info(scope, argv),
	accounts: async (scope, argv) => (await import('./commands/accounts.js')).accounts(scope, argv),
	messages: async (scope, argv) => (await import('./commands/messages.js')).messages(scope, argv),
	send: async (scope, argv) => (await import('./commands/messages.js')).send(scope, argv),
	suspend: async (scope, argv) => (await import('./commands/messages.js')).pause(scope, argv, false),
	activate: async (scope, argv) => (await import('./commands/messages.js')).pause(scope, argv, true),
	'run-now': async (scope, argv) => (await import('./commands/messages.js')).wake(scope, argv),
};

export const GLOBAL_HELP = `mail-proxy ${version} — per-user email delivery proxy

Usage
  mail-proxy <command> ...
  mail-proxy <instance> <instance-command> ...
  mail-proxy <instance> <tenant> <tenant-command> ...

Global commands
  list [--json]                       every instance with status, address and pending messages
  start <instance> [--host H] [--port P] [--foreground] [--api-token T]
                                      create (first time) and start an instance
  stop <instance> [--force] [--timeout S]
  restart <instance> [--force]
  status <instance> [--json]
  delete <instance> [--force]
  parse-bounce <file.eml> [--json]    what the bounce parser makes of a saved e-mail

Instance commands (mail-proxy <instance> ...)
  info [--json] [--show-token]        paths, address, status, admin token
  token [--regenerate]                print (or replace) the admin token
  logs [-f] [-n N]                    show / follow the daemon log
  stats [--json]                      tenants, accounts, messages by status
  tenants list|show|add|update|delete tenants (add prints the tenant API key once)
  config show|set                     instance settings (retries, attachment dir)
  config bounce [--host ...|--disable] the IMAP mailbox read for bounces
  command-log list|export|purge       audit log of state-changing commands

Tenant commands (mail-proxy <instance> <tenant> ...)
  info [--json]                       tenant details, accounts, report state
  accounts list|show|add|delete       SMTP accounts (passwords never printed)
  messages list|show|delete           the queue (--status, --json, --csv)
  send <file.eml> [--account A]       enqueue an RFC 822 file as is; prints the message id
  suspend|activate [--batch CODE]     pause / resume sending (all or one batch)
  run-now                             wake dispatch and reporting now

Run \`mail-proxy <command> --help\` for details, \`man mail-proxy\` for everything.
Instances live in $MAIL_PROXY_HOME (default ~/.mail-proxy).`;

export const INSTANCE_HELP = (name: string) => `Usage: mail-proxy ${name} <command> ...

Instance commands
  info [--json] [--show-token]
  token [--regenerate]
  logs [-f] [-n N]
  stats [--json]
  tenants list|show|add|update|delete
  config show|set|bounce
  command-log list|export|purge

Run \`mail-proxy ${name} <command> --help\` for details.`;

export const TENANT_HELP = (name: string, tenant: string) => `Usage: mail-proxy ${name} ${tenant} <command> ...

Tenant commands
  info [--json]
  accounts list|show|add|delete

Run \`mail-proxy ${name} ${tenant} <command> --help\` for details.`;

function isHelp(word: string | undefined): boolean {
	return word === '--help' || word === '-h' || word === 'help';
}

export async function main(argv: string[]): Promise<number> {
	const [first, second, third] = argv;
	if (first === undefined || isHelp(first)) {
		process.stdout.write(GLOBAL_HELP + '\n');
		return first === undefined ? 2 : 0;
	}

	if (first === '--version' || first === '-v') {
		process.stdout.write(version + '\n');
		return 0;
	}

	if (first.startsWith('-')) {
		throw usageError(`unknown option ${first} (see --help)`);
	}

	const global = GLOBAL[first];
	if (global) {
		return global(argv.slice(1));
	}

	const name = assertName(first, 'instance name or command');
	if (second === undefined || isHelp(second)) {
		process.stdout.write(INSTANCE_HELP(name) + '\n');
		return second === undefined ? 2 : 0;
	}

	const {existingInstance} = await import('./instance.js');
	const instanceCommand = INSTANCE[second];
	if (instanceCommand) {
		return instanceCommand(existingInstance(name), argv.slice(2));
	}

	if (second.startsWith('-')) {
		throw usageError(`unknown option ${second} (see \`mail-proxy ${name} --help\`)`);
	}

	const tenantId = assertName(second, 'tenant id or instance command');
	const paths = existingInstance(name);
	if (third === undefined || isHelp(third)) {
		process.stdout.write(TENANT_HELP(name, tenantId) + '\n');
		return third === undefined ? 2 : 0;
	}

	const tenantCommand = TENANT[third];
	if (!tenantCommand) {
		throw usageError(`unknown command '${third}' (see \`mail-proxy ${name} ${tenantId} --help\`)`);
	}

	return tenantCommand({paths, tenantId}, argv.slice(3));
}
