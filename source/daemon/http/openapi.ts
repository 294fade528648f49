import {z} from 'zod';
import {version} from '../../shared/version.js';
import type {Route} from './app.js';

const ERROR = {
	type: 'object',
	properties: {detail: {}},
	required: ['detail'],
};

const OPTIONS = {io: 'input', unrepresentable: 'any', uri: (id: string) => `#/components/schemas/${id}`} as const;

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
	const {$schema: _ignored, ...rest} = z.toJSONSchema(schema, OPTIONS) as Record<string, unknown>;
	return rest;
}

/** Every payload schema registered with an id (`.meta({id})`), as OpenAPI components. */
function registeredSchemas(): Record<string, unknown> {
	const {schemas} = z.toJSONSchema(z.globalRegistry, OPTIONS) as {schemas: Record<string, Record<string, unknown>>};
	const out: Record<string, unknown> = {};
	for (const [id, schema] of Object.entries(schemas)) {
		const {$schema: _ignored, id: _id, ...rest} = schema;
		out[id] = rest;
	}

	return out;
}

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate the requests. */
export function openApiDocument(routes: Route[]): Record<string, unknown> {
	const paths: Record<string, Record<string, unknown>> = {};
	const components = registeredSchemas();
	for (const route of routes) {
		const path = route.path.replaceAll(/:([A-Za-z_]+)/g, '{$1}');
		const parameters: unknown[] = [...route.path.matchAll(/:([A-Za-z_]+)/g)].map(match => ({name: match[1], in: 'path', required: true, schema: {type: 'string'}}));
		if (route.query instanceof z.ZodObject) {
			for (const name of Object.keys(route.query.shape)) {
				parameters.push({name, in: 'query', required: false, schema: {type: 'string'}});
			}
		}

		const operation: Record<string, unknown> = {
			summary: route.summary,
			parameters,
			responses: {
				'200': {description: 'Success', content: {'application/json': {schema: {type: 'object'}}}},
				...(route.class === 'public' ? {} : {'401': {description: 'Missing, unknown or out-of-scope token', content: {'application/json': {schema: ERROR}}}}),
				...(route.class === 'admin' ? {'403': {description: 'Tenant key on an admin route', content: {'application/json': {schema: ERROR}}}} : {}),
				'422': {description: 'Invalid input', content: {'application/json': {schema: ERROR}}},
			},
			...(route.class === 'public' ? {security: []} : {}),
		};
		if (route.body) {
			const id = (z.globalRegistry.get(route.body) as {id?: string} | undefined)?.id;
			const schema = id ? {$ref: `#/components/schemas/${id}`} : jsonSchema(route.body);
			operation['requestBody'] = {required: true, content: {'application/json': {schema}}};
		}

		paths[path] ??= {};
		paths[path]![route.method.toLowerCase()] = operation;
	}

	return {
		openapi: '3.1.0',
		info: {title: 'mail-proxy', version, description: 'Email delivery proxy REST API (wire-compatible with genro-mail-proxy 0.6).'},
		components: {schemas: components, securitySchemes: {apiToken: {type: 'apiKey', in: 'header', name: 'X-API-Token'}}},
		security: [{apiToken: []}],
		paths,
	};
}
