import http, {type IncomingMessage, type ServerResponse} from 'node:http';
import type {Readable} from 'node:stream';
import polka from 'polka';
import type {z} from 'zod';
import {AppError, isAppError} from '../../shared/errors.js';
import {randomBase62} from '../../shared/ids.js';
import type {Principal} from '../../shared/principal.js';
import {parseInput} from '../../shared/validation.js';
import type {Logger} from '../log.js';
import type {Authenticator, RouteClass} from './auth.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export type RouteContext<B = unknown, Q = Record<string, string>> = {
	principal: Principal | undefined;
	/** The body parsed by the route's body schema. */
	input: B;
	/** The query parsed by the route's query schema (raw strings when it has none). */
	q: Q;
	params: Record<string, string>;
	/** First value of each query parameter. */
	query: Record<string, string>;
	/** Parsed JSON body (undefined when the request has none). */
	body: unknown;
	requestId: string;
	method: string;
	baseUrl: string;
};

export type Reply = {
	status?: number;
	json?: unknown;
	text?: string;
	stream?: Readable;
	headers?: Record<string, string>;
};

export type Route<B = any, Q = any> = {
	method: Method;
	path: string;
	class: RouteClass;
	summary: string;
	/** Request body schema: validates (422), types the handler and documents the route. */
	body?: z.ZodType<B>;
	query?: z.ZodType<Q>;
	/** Also answer HEAD (download links). */
	head?: boolean;
	handler: (context: RouteContext<B, Q>) => Reply | Promise<Reply>;
};

/** Declares a route with its handler typed from its schemas. */
export function route<B = undefined, Q = Record<string, string>>(definition: Route<B, Q>): Route<B, Q> {
	return definition;
}

export type HttpOptions = {
	routes: Route[];
	auth: Authenticator;
	log: Logger;
	maxBodyBytes: number;
	isDraining: () => boolean;
	baseUrl: () => string;
	/** Log every request (GMP_LOG_LEVEL=debug). */
	debug?: boolean;
};

const BODY_METHODS = new Set(['POST', 'PUT', 'DELETE']);

/** Successful JSON responses omit null fields (rest-api §1.1). */
export function omitNulls(value: unknown): unknown {
	if (Array.isArray(value)) {
		return value.map(item => omitNulls(item));
	}

	if (value !== null && typeof value === 'object') {
		const out: Record<string, unknown> = {};
		for (const [key, item] of Object.entries(value)) {
			if (item !== null && item !== undefined) {
				out[key] = omitNulls(item);
			}
		}

		return out;
	}

	return value;
}

function send(res: ServerResponse, status: number, requestId: string, reply: Reply): void {
	if (res.headersSent) {
		res.end();
		return;
	}

	if (reply.stream === undefined && reply.text === undefined && reply.headers === undefined) {
		// The common case, in one call: a JSON body.
		const body = JSON.stringify(status < 300 ? omitNulls(reply.json ?? {}) : reply.json);
		res.writeHead(status, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Request-Id': requestId});
		res.end(body);
		return;
	}

	res.statusCode = status;
	res.setHeader('X-Request-Id', requestId);
	for (const [name, value] of Object.entries(reply.headers ?? {})) {
		res.setHeader(name, value);
	}

	if (reply.stream) {
		reply.stream.pipe(res);
		return;
	}

	if (reply.text !== undefined) {
		if (!res.hasHeader('Content-Type')) {
			res.setHeader('Content-Type', 'text/plain; charset=utf-8');
		}

		res.end(reply.text);
		return;
	}

	const body = JSON.stringify(status < 300 ? omitNulls(reply.json ?? {}) : reply.json);
	res.setHeader('Content-Type', 'application/json');
	res.setHeader('Content-Length', Buffer.byteLength(body));
	res.end(body);
}

function sendError(res: ServerResponse, requestId: string, status: number, detail: unknown): void {
	send(res, status, requestId, {json: {detail}});
}

function requestIdOf(req: IncomingMessage): string {
	const given = req.headers['x-request-id'];
	if (typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given)) {
		return given;
	}

	return randomBase62(16);
}

/** Reads the body, enforcing the size cap while streaming (a missing Content-Length cannot dodge it). */
async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		req.on('data', (chunk: Buffer) => {
			size += chunk.length;
			if (size > max) {
				req.removeAllListeners('data');
				req.resume();
				reject(new AppError('Request body too large', {status: 413, exitCode: 1}));
				return;
			}

			chunks.push(chunk);
		});
		req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
		req.once('error', reject);
	});
}

function parseJson(raw: Buffer): unknown {
	if (raw.length === 0) {
		return undefined;
	}

	try {
		return JSON.parse(raw.toString('utf8'));
	} catch (error) {
		const position = /position (\d+)/.exec(String(error))?.[1];
		const issue = {type: 'json_invalid', loc: ['body', Number(position ?? 0)], msg: 'JSON decode error'};
		throw new AppError('JSON decode error', {status: 422, exitCode: 2, detail: [issue]});
	}
}

function parseQuery(url: string): Record<string, string> {
	const index = url.indexOf('?');
	const query: Record<string, string> = {};
	if (index === -1) {
		return query;
	}

	for (const [key, value] of new URLSearchParams(url.slice(index + 1))) {
		if (!(key in query)) {
			query[key] = value;
		}
	}

	return query;
}

/** Builds the polka app and returns its (not yet listening) server. */
export function createHttpServer(options: HttpOptions): http.Server {
	const {log} = options;
	const app = polka({
		onError(error: unknown, req: IncomingMessage, res: ServerResponse) {
			const requestId = (req as IncomingMessage & {requestId?: string}).requestId ?? requestIdOf(req);
			log.error(`request ${requestId} ${req.method} ${req.url} failed: ${(error as Error)?.stack ?? String(error)}`);
			sendError(res, requestId, 500, 'Internal Server Error');
		},
		onNoMatch(req: IncomingMessage, res: ServerResponse) {
			const requestId = requestIdOf(req);
			const path = (req as IncomingMessage & {path?: string}).path ?? req.url ?? '/';
			const allowed = options.routes.some(route => route.method !== req.method && matches(route.path, path));
			if (allowed) {
				sendError(res, requestId, 405, 'Method Not Allowed');
			} else {
				sendError(res, requestId, 404, 'Not Found');
			}
		},
	});

	for (const route of options.routes) {
		const handler = async (req: IncomingMessage & {params?: Record<string, string>; requestId?: string}, res: ServerResponse) => {
			const requestId = requestIdOf(req);
			req.requestId = requestId;
			const started = performance.now();
			let status = 200;
			try {
				if (options.isDraining() && route.class !== 'public') {
					res.setHeader('Connection', 'close');
					status = 503;
					sendError(res, requestId, 503, 'Service shutting down');
					return;
				}

				// Evaluation order (rest-api §1.3): declared size, authentication, admin, then the body.
				const declared = Number(req.headers['content-length'] ?? 0);
				if (declared > options.maxBodyBytes) {
					res.setHeader('Connection', 'close');
					throw new AppError('Request body too large', {status: 413, exitCode: 1});
				}

				const token = req.headers['x-api-token'];
				const principal = options.auth.authorize(route.class, Array.isArray(token) ? token[0] : token);
				const body = BODY_METHODS.has(req.method ?? '') ? parseJson(await readBody(req, options.maxBodyBytes)) : undefined;
				const query = parseQuery(req.url ?? '');
				const input = route.body ? parseInput(route.body, body, 'body') : undefined;
				const q = route.query ? parseInput(route.query, query, 'query') : query;
				const reply = await route.handler({
					principal,
					input,
					q,
					params: req.params ?? {},
					query,
					body,
					requestId,
					method: req.method ?? route.method,
					baseUrl: options.baseUrl(),
				});
				status = reply.status ?? 200;
				send(res, status, requestId, reply);
			} catch (error) {
				if (isAppError(error)) {
					status = error.status;
					if (status === 413) {
						res.setHeader('Connection', 'close');
					}

					if (status >= 500) {
						log.error(`request ${requestId} ${route.method} ${route.path}: ${error.message}`);
					}

					sendError(res, requestId, status, error.detail);
				} else {
					status = 500;
					log.error(`request ${requestId} ${route.method} ${route.path} failed: ${(error as Error)?.stack ?? String(error)}`);
					sendError(res, requestId, 500, 'Internal Server Error');
				}
			} finally {
				if (options.debug) {
					log.debug(`${requestId} ${req.method} ${route.path} ${status} ${(performance.now() - started).toFixed(1)}ms`);
				}
			}
		};

		const register = app as unknown as Record<string, (path: string, handler: unknown) => void>;
		register[route.method.toLowerCase()]!(route.path, handler);
		if (route.head) {
			register['head']!(route.path, handler);
		}
	}

	const server = http.createServer(app.handler as unknown as http.RequestListener);
	// Idle keep-alive connections stay open longer than clients keep them (undici: 4 s after a 5 s hint,
	// most others less than a minute), so a client never sends on a connection the server is closing.
	server.keepAliveTimeout = 65_000;
	return server;
}

const patternCache = new Map<string, RegExp>();

function matches(pattern: string, path: string): boolean {
	let regex = patternCache.get(pattern);
	if (!regex) {
		regex = new RegExp('^' + pattern.replaceAll(/:[A-Za-z_]+/g, '[^/]+') + '/?$');
		patternCache.set(pattern, regex);
	}

	return regex.test(path);
}
