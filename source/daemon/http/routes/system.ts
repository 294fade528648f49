import {version} from '../../../shared/version.js';
import type {Daemon} from '../../context.js';
import type {Route} from '../app.js';

export function systemRoutes(daemon: Daemon): Route[] {
	return [
		{method: 'GET', path: '/health', class: 'public', summary: 'Liveness: 200 once the listener and the database are up', handler: () => ({json: {status: 'ok'}})},
		{
			method: 'GET',
			path: '/status',
			class: 'auth',
			summary: 'Daemon state: active, test mode, pending messages, uptime, version',
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
