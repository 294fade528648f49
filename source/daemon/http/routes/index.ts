import type {Daemon} from '../../context.js';
import {route, type Route} from '../app.js';
import {openApiDocument} from '../openapi.js';
import {accountRoutes} from './accounts.js';
import {instanceRoutes} from './instance.js';
import {messageRoutes} from './messages.js';
import {systemRoutes} from './system.js';
import {tenantRoutes} from './tenants.js';

export function allRoutes(daemon: Daemon): Route[] {
	const routes: Route[] = [...systemRoutes(daemon), ...tenantRoutes(daemon), ...accountRoutes(daemon), ...messageRoutes(daemon), ...instanceRoutes(daemon)];
	let document: Record<string, unknown> | undefined;
	routes.push(
		route({
			method: 'GET',
			path: '/openapi.json',
			class: 'public',
			summary: 'This document',
			handler: () => ({json: (document ??= openApiDocument(routes))}),
		}),
	);
	return routes;
}
