import {exportCommands, listCommands} from '../../../shared/operations/command-log.js';
import {assertBounceConfigurable, getInstanceSettings, updateInstanceSettings} from '../../../shared/operations/instance-settings.js';
import {CommandLogExportQuery, CommandLogQuery, InstanceUpdate} from '../../../shared/schemas/instance.js';
import type {Daemon} from '../../context.js';
import {route} from '../app.js';

export function instanceRoutes(daemon: Daemon) {
	const context = {store: daemon.store, effects: daemon.effects};
	return [
		route({
			method: 'GET',
			path: '/instance',
			class: 'admin',
			summary: 'Instance settings (bounce mailbox, retries)',
			handler: () => ({json: {ok: true, ...getInstanceSettings(daemon.store, {attachmentBaseDirEnv: daemon.config.attachmentBaseDir})}}),
		}),
		route({
			method: 'PUT',
			path: '/instance',
			class: 'admin',
			summary: 'Update instance settings; api_token rotates the admin token',
			body: InstanceUpdate,
			handler: ({input}) => ({json: updateInstanceSettings(context, input)}),
		}),
		route({
			method: 'POST',
			path: '/instance/reload-bounce',
			class: 'admin',
			summary: 'Restart the bounce poller from the stored configuration',
			handler: () => {
				assertBounceConfigurable(daemon.store);
				daemon.effects.bounceConfigChanged?.();
				return {json: {ok: true}};
			},
		}),
		route({
			method: 'GET',
			path: '/command-log',
			class: 'admin',
			summary: 'Audit log of state-changing commands',
			query: CommandLogQuery,
			handler: ({q}) => ({json: listCommands(daemon.store, q)}),
		}),
		route({
			method: 'GET',
			path: '/command-log/export',
			class: 'admin',
			summary: 'Export the audit log (at most 100 000 entries)',
			query: CommandLogExportQuery,
			handler: ({q}) => ({json: exportCommands(daemon.store, q)}),
		}),
	];
}
