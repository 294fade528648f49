import path from 'node:path';
import {usageError} from '../../shared/errors.js';
import {getInstanceSettings, setAttachmentBaseDir, updateInstanceSettings} from '../../shared/operations/instance-settings.js';
import type {InstancePaths} from '../../shared/paths.js';
import {InstanceUpdate} from '../../shared/schemas/instance.js';
import {parse} from '../args.js';
import {withStore} from '../instance.js';
import {cliContext, validateFlags} from '../ops.js';
import {printFields, printJson} from '../output.js';

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
			['bounce', settings.bounce_enabled ? `${settings.bounce_imap_user ?? ''}@${settings.bounce_imap_host ?? '?'}:${settings.bounce_imap_port} ${settings.bounce_imap_folder}${settings.bounce_imap_ssl ? ' (TLS)' : ''}, every ${settings.bounce_poll_interval}s` : 'disabled'],
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

export async function config(paths: InstancePaths, argv: string[]): Promise<number> {
	const [sub, ...rest] = argv;
	if (sub === 'show') {
		return show(paths, rest);
	}

	if (sub === 'set') {
		return set(paths, rest);
	}

	if (sub === undefined || sub === '--help') {
		process.stdout.write('Usage: mail-proxy <instance> config show|set ...\n');
		return sub === undefined ? 2 : 0;
	}

	throw usageError(`unknown config command '${sub}' (show, set)`);
}
