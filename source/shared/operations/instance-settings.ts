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

		store.instance.update(changes, isoNow(store.clock));
	});
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
