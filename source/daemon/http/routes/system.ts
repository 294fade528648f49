import {version} from '../../../shared/version.js';
import type {Daemon} from '../../context.js';
import type {Route} from '../app.js';

export function systemRoutes(daemon: Daemon): Route[] {
	return [
		{method: 'GET', path: '/health', class: 'public', handler: () => ({json: {status: 'ok'}})},
		{
			method: 'GET',
			path: '/status',
			class: 'auth',
			handler: () => ({
				json: {
					ok: true,
					active: !daemon.draining,
					test_mode: daemon.config.testMode,
					pending_messages: daemon.store.messages.countPending(),
					uptime_seconds: Math.floor((daemon.clock.now() - daemon.startedAt) / 1000),
					version,
				},
			}),
		},
	];
}
