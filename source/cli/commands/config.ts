import path from 'node:path';
import {usageError} from '../../shared/errors.js';
import {configureBounce, getInstanceSettings, setAttachmentBaseDir, updateInstanceSettings} from '../../shared/operations/instance-settings.js';
import type {InstancePaths} from '../../shared/paths.js';
import {InstanceUpdate} from '../../shared/schemas/instance.js';
import type {InstanceSettings} from '../../shared/db/instance.js';
import {parse} from '../args.js';
import {withStore} from '../instance.js';
import {askMissing, cliContext, missingFlags, validateFlags} from '../ops.js';
import {printFields, printJson} from '../output.js';
import type {FormField} from '../ui/form.js';

async function show(paths: InstancePaths, argv: string[]): Promise<number> {
	const {flags} = parse(argv, {help: 'mail-proxy <instance> config show [--json]\n\nInstance settings (the IMAP password is never shown).', flags: {json: {type: 'boolean'}}});
	return withStore(paths, store => {
		const settings = getInstanceSettings(store, {attachmentBaseDirEnv: process.env['GMP_ATTACHMENT_BASE_DIR']});
		if (flags.json) {
			printJson(settings);
			return 0;
		}

		printFields([
			['name', settings.name],
			['retry delays', settings.retry_delays.map(s => `${s}s`).join(', ')],
			['max retries', settings.max_retries],
			['attachment dir', settings.attachment_base_dir ?? '(filesystem attachments disabled)'],
			['bounce', describeBounce(settings)],
			['bounce position', settings.bounce_last_uid === null ? '(not read yet)' : `uid ${settings.bounce_last_uid}, read ${settings.bounce_last_sync ?? '?'}`],
			['bounce return path', settings.bounce_return_path],
			['updated', settings.updated_at],
		]);
		return 0;
	});
}

function parseDelays(value: string): number[] {
	const parts = value.split(',').map(part => part.trim());
	if (parts.some(part => !/^\d+$/.test(part))) {
		throw usageError('--retry-delays: a comma-separated list of seconds, e.g. 60,300,900');
	}

	return parts.map(Number);
}

async function set(paths: InstancePaths, argv: string[]): Promise<number> {
	const {flags} = parse(argv, {
		help: `mail-proxy <instance> config set [--name N] [--retry-delays S,S,...] [--max-retries N] [--attachment-dir DIR]

  --name N               instance display name
  --retry-delays LIST    seconds between attempts, e.g. 60,300,900,3600,7200
  --max-retries N        retries after the first attempt (0-20)
  --attachment-dir DIR   root for filesystem attachments ("" disables them)`,
		flags: {name: {type: 'string'}, retryDelays: {type: 'string'}, maxRetries: {type: 'number'}, attachmentDir: {type: 'string'}},
	});
	const payload: Record<string, unknown> = {};
	if (flags.name !== undefined) {
		payload['name'] = flags.name;
	}

	if (flags.retryDelays !== undefined) {
		payload['retry_delays'] = parseDelays(flags.retryDelays);
	}

	if (flags.maxRetries !== undefined) {
		payload['max_retries'] = flags.maxRetries;
	}

	if (Object.keys(payload).length === 0 && flags.attachmentDir === undefined) {
		throw usageError('nothing to change: give at least one option (see --help)');
	}

	const changes = validateFlags(InstanceUpdate, payload, {retry_delays: '--retry-delays', max_retries: '--max-retries'});
	return withStore(paths, store => {
		store.transaction(() => {
			updateInstanceSettings(cliContext(paths, store), changes);
			if (flags.attachmentDir !== undefined) {
				setAttachmentBaseDir(store, flags.attachmentDir === '' ? null : path.resolve(flags.attachmentDir));
			}
		});
		process.stdout.write('settings saved\n');
		return 0;
	});
}

function describeBounce(settings: Pick<InstanceSettings, 'bounce_enabled' | 'bounce_imap_user' | 'bounce_imap_host' | 'bounce_imap_port' | 'bounce_imap_folder' | 'bounce_imap_ssl' | 'bounce_poll_interval'>): string {
	if (!settings.bounce_enabled) {
		return 'disabled';
	}

	return `${settings.bounce_imap_user ?? ''}@${settings.bounce_imap_host ?? '?'}:${settings.bounce_imap_port} ${settings.bounce_imap_folder}${settings.bounce_imap_ssl ? ' (TLS)' : ''}, every ${settings.bounce_poll_interval}s`;
}

const BOUNCE_FLAGS: Record<string, string> = {
	bounce_imap_host: '--host',
	bounce_imap_port: '--port',
	bounce_imap_user: '--user',
	bounce_imap_password: '--password',
	bounce_imap_folder: '--folder',
	bounce_imap_ssl: '--tls',
	bounce_poll_interval: '--interval',
	bounce_return_path: '--return-path',
};

const bounceShape = InstanceUpdate.shape;

/** The bounce form; defaults are the stored settings. */
function bounceFields(stored: InstanceSettings): FormField[] {
	return [
		{name: 'host', label: 'IMAP host', kind: 'text', default: stored.bounce_imap_host ?? undefined, schema: bounceShape.bounce_imap_host.unwrap().unwrap().min(1)},
		{name: 'tls', label: 'TLS (implicit, port 993)', kind: 'bool', default: stored.bounce_imap_ssl ? 'yes' : 'no'},
		{name: 'port', label: 'IMAP port', kind: 'int', optional: true, hint: '993 with TLS, 143 without', schema: bounceShape.bounce_imap_port},
		{name: 'user', label: 'User', kind: 'text', default: stored.bounce_imap_user ?? undefined, schema: bounceShape.bounce_imap_user.unwrap().unwrap().min(1)},
		{name: 'password', label: 'Password', kind: 'secret', optional: stored.bounce_imap_password !== null, hint: 'keep the stored one', schema: bounceShape.bounce_imap_password},
		{name: 'folder', label: 'Folder', kind: 'text', default: stored.bounce_imap_folder, schema: bounceShape.bounce_imap_folder},
		{name: 'interval', label: 'Poll every (s)', kind: 'int', default: String(stored.bounce_poll_interval), schema: bounceShape.bounce_poll_interval},
		{name: 'returnPath', label: 'Return path (envelope sender)', kind: 'text', optional: true, hint: stored.bounce_return_path ?? 'none', schema: bounceShape.bounce_return_path},
	];
}

type BounceValues = {host?: string; port?: number; user?: string; password?: string; folder?: string; tls?: boolean; interval?: number; returnPath?: string};

async function bounce(paths: InstancePaths, argv: string[]): Promise<number> {
	const {flags} = parse(argv, {
		help: `mail-proxy <instance> config bounce [--host H] [--port P] [--user U] [--password P] [--folder F]
                    [--tls | --no-tls] [--interval S] [--return-path ADDR] [--disable] [--json]

Configures the IMAP mailbox read for bounces and enables it (or --disable it). Values not given keep
their stored setting; in a terminal, a missing host, user or password is asked for. A running daemon
restarts its bounce loop at once. Changing host, port, user or folder restarts reading from the
beginning of the new mailbox.
  --host H          IMAP server
  --port P          default 993 with TLS, 143 without
  --user U --password P   login
  --folder F        mailbox folder (default INBOX)
  --tls / --no-tls  implicit TLS (default) or plain with STARTTLS when offered
  --interval S      seconds between polls (>= 10, default 60)
  --return-path A   envelope sender for messages without return_path ("" clears it)
  --disable         stop reading the mailbox (settings are kept)
  --json            print the resulting settings as JSON`,
		flags: {
			host: {type: 'string'},
			port: {type: 'number'},
			user: {type: 'string'},
			password: {type: 'string'},
			folder: {type: 'string'},
			tls: {type: 'boolean'},
			interval: {type: 'number'},
			returnPath: {type: 'string'},
			disable: {type: 'boolean'},
			json: {type: 'boolean'},
		},
	});
	const stored = await withStore(paths, store => store.instance.get());
	let values: BounceValues = {
		host: flags.host,
		port: flags.port,
		user: flags.user,
		password: flags.password,
		folder: flags.folder,
		tls: flags.tls,
		interval: flags.interval,
		returnPath: flags.returnPath,
	};
	if (!flags.disable) {
		const missing = missingFlags({host: values.host ?? stored.bounce_imap_host, user: values.user ?? stored.bounce_imap_user, password: values.password ?? stored.bounce_imap_password}, [
			['host', '--host'],
			['user', '--user'],
			['password', '--password'],
		]);
		if (missing.length > 0) {
			const answered = await askMissing(values, missing.join(', '), 'Bounce mailbox (IMAP)', bounceFields(stored));
			if (!answered) {
				return 1;
			}

			values = answered;
		}
	}

	const tls = values.tls ?? stored.bounce_imap_ssl;
	const hostChanged = values.host !== undefined && values.host !== stored.bounce_imap_host;
	const defaultPort = tls ? 993 : 143;
	const payload = validateFlags(
		InstanceUpdate,
		{
			bounce_enabled: !flags.disable,
			bounce_imap_host: values.host,
			// A new server or a TLS switch without --port: the standard port for the new mode.
			bounce_imap_port: values.port ?? (hostChanged || values.tls !== undefined ? defaultPort : undefined),
			bounce_imap_user: values.user,
			bounce_imap_password: values.password,
			bounce_imap_folder: values.folder,
			bounce_imap_ssl: values.tls,
			bounce_poll_interval: values.interval,
			bounce_return_path: values.returnPath,
		},
		BOUNCE_FLAGS,
	);
	return withStore(paths, async store => {
		const context = cliContext(paths, store);
		configureBounce(context, payload);
		await context.flush();
		const settings = getInstanceSettings(store);
		if (flags.json) {
			printJson(settings);
		} else {
			process.stdout.write(`bounce mailbox: ${describeBounce(settings)}\n`);
		}

		return 0;
	});
}

export async function config(paths: InstancePaths, argv: string[]): Promise<number> {
	const [sub, ...rest] = argv;
	if (sub === 'show') {
		return show(paths, rest);
	}

	if (sub === 'set') {
		return set(paths, rest);
	}

	if (sub === 'bounce') {
		return bounce(paths, rest);
	}

	if (sub === undefined || sub === '--help') {
		process.stdout.write('Usage: mail-proxy <instance> config show|set|bounce ...\n');
		return sub === undefined ? 2 : 0;
	}

	throw usageError(`unknown config command '${sub}' (show, set, bounce)`);
}
