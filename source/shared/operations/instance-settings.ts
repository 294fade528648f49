import {isoNow} from '../clock.js';
import type {InstanceChanges} from '../db/instance.js';
import type {Store} from '../db/store.js';
import {refused} from '../errors.js';
import type {InstanceUpdate} from '../schemas/instance.js';
import {setAdminToken} from './admin-token.js';
import type {OpContext} from './context.js';

/** The filesystem attachment root: GMP_ATTACHMENT_BASE_DIR wins over the stored setting (CLI). */
export function attachmentBaseDir(store: Store, envValue: string | undefined): string | null {
	return envValue ?? store.config.get('attachment_base_dir') ?? null;
}

/** `GET /instance`: settings with defaults; never the admin token or the IMAP password. */
export function getInstanceSettings(store: Store, options: {attachmentBaseDirEnv?: string} = {}) {
	const {bounce_imap_password: _password, ...settings} = store.instance.get();
	return {...settings, attachment_base_dir: attachmentBaseDir(store, options.attachmentBaseDirEnv)};
}

/** `PUT /instance`: absent/null fields unchanged; a new api_token replaces the admin token at once. */
export function updateInstanceSettings({store}: OpContext, input: InstanceUpdate): {ok: true} {
	const {api_token: apiToken, ...rest} = input;
	const changes: InstanceChanges = {};
	for (const [key, value] of Object.entries(rest)) {
		if (value !== null && value !== undefined) {
			(changes as Record<string, unknown>)[key] = value;
		}
	}

	store.transaction(() => {
		if (apiToken) {
			setAdminToken(store, apiToken);
		}

		const before = store.instance.get();
		store.instance.update(changes, isoNow(store.clock));
		// Another mailbox: the stored UID position belongs to the old one.
		if (MAILBOX_KEYS.some(key => changes[key] !== undefined && changes[key] !== before[key])) {
			store.instance.setPollState({lastUid: null, uidValidity: null, lastSync: null});
		}
	});
	return {ok: true};
}

const MAILBOX_KEYS = ['bounce_imap_host', 'bounce_imap_port', 'bounce_imap_user', 'bounce_imap_folder'] as const;

/**
 * `config bounce`: saves the bounce mailbox settings (refused, changing nothing, when enabled without a
 * host) and restarts the daemon's bounce loop from them.
 */
export function configureBounce(context: OpContext, input: InstanceUpdate): {ok: true} {
	context.store.transaction(() => {
		updateInstanceSettings(context, input);
		assertBounceConfigurable(context.store);
	});
	context.effects?.bounceConfigChanged?.();
	return {ok: true};
}

/** Bounce settings that `reload-bounce` needs; 400 when enabled without a host. */
export function assertBounceConfigurable(store: Store): void {
	const settings = store.instance.get();
	if (settings.bounce_enabled && !settings.bounce_imap_host) {
		throw refused('Bounce enabled but imap_host not configured');
	}
}

export function setAttachmentBaseDir(store: Store, dir: string | null): void {
	store.config.set('attachment_base_dir', dir);
}

export type BounceSeed = {
	enabled?: boolean;
	host?: string;
	port?: number;
	user?: string;
	password?: string;
	ssl?: boolean;
	folder?: string;
	pollInterval?: number;
	returnPath?: string;
};

/**
 * First-start seeding from GMP_BOUNCE_*: applied while the stored bounce host is empty, so settings made
 * later (PUT /instance, `config bounce`) are never overwritten by the environment.
 */
export function seedBounceConfig(store: Store, seed: BounceSeed): boolean {
	if (!seed.host || store.instance.get().bounce_imap_host) {
		return false;
	}

	const ssl = seed.ssl ?? true;
	store.transaction(() =>
		store.instance.update(
			{
				bounce_enabled: seed.enabled ?? true,
				bounce_imap_host: seed.host,
				bounce_imap_port: seed.port ?? (ssl ? 993 : 143),
				bounce_imap_user: seed.user ?? null,
				bounce_imap_password: seed.password ?? null,
				bounce_imap_ssl: ssl,
				bounce_imap_folder: seed.folder ?? 'INBOX',
				bounce_poll_interval: seed.pollInterval ?? 60,
				bounce_return_path: seed.returnPath ?? null,
			},
			isoNow(store.clock),
		),
	);
	return true;
}
