import {version} from '../../../shared/version.js';
import type {Daemon} from '../../context.js';
import type {Route} from '../app.js';

export function systemRoutes(daemon: Daemon): Route[] {
	return [
		{
			method: 'GET',
			path: '/metrics',
			class: 'public',
			summary: 'Prometheus metrics (gmp_* series and process metrics)',
			handler: async () => {
				const {contentType, text} = await daemon.metrics.render();
				return {text, headers: {'Content-Type': contentType}};
			},
		},
		{
			method: 'POST',
			path: '/internal/wake',
			class: 'admin',
			summary: 'Addition used by the CLI after it changed the database: wake dispatch (not a run-now; test mode ignores it)',
			handler: () => {
				daemon.effects.messagesReady?.();
				daemon.effects.tenantsChanged?.();
				return {json: {ok: true}};
			},
		},
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
