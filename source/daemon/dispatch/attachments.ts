import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {detectMimeType} from 'nodemailer/lib/mime-funcs/mime-types.js';
import type {Config} from '../../shared/config.js';
import {authorizationHeader, signatureHeaders} from '../../shared/client-http.js';
import type {Tenant} from '../../shared/db/tenants.js';
import type {AttachmentPayload} from '../../shared/schemas/message.js';
import type {Logger} from '../log.js';
import type {ReadyAttachment} from './mime.js';
import {DeliveryError} from './retry.js';

export type FetchMode = 'base64' | 'http_url' | 'endpoint' | 'filesystem';

const MiB = 1024 * 1024;
const FETCH_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;
const MAX_IN_FLIGHT = 3;

/** rest-api §2.5.1: an explicit mode, else inferred from the storage path. */
export function fetchModeOf(attachment: Pick<AttachmentPayload, 'fetch_mode' | 'storage_path'>): FetchMode {
	if (attachment.fetch_mode) {
		return attachment.fetch_mode;
	}

	const location = attachment.storage_path;
	if (location.startsWith('base64:')) {
		return 'base64';
	}

	if (/^https?:\/\//i.test(location)) {
		return 'http_url';
	}

	return location.startsWith('/') ? 'filesystem' : 'endpoint';
}

/** The name as sent: `{MD5:<hex>}` removed, then `__`→`_`, outer `_` trimmed, `_.`→`.`. */
export function cleanFilename(filename: string): {name: string; md5?: string} {
	const marker = /\{MD5:([\da-fA-F]{32})\}/.exec(filename);
	let name = filename.replace(/\{MD5:[\da-fA-F]*\}/g, '');
	while (name.includes('__')) {
		name = name.replaceAll('__', '_');
	}

	name = name.replace(/^_+|_+$/g, '').replaceAll('_.', '.');
	return {name: name || filename, md5: marker?.[1]?.toLowerCase()};
}

class Semaphore {
	#free: number;
	readonly #waiting: Array<() => void> = [];

	constructor(size: number) {
		this.#free = size;
	}

	async use<T>(work: () => Promise<T>): Promise<T> {
		if (this.#free > 0) {
			this.#free--;
		} else {
			await new Promise<void>(resolve => this.#waiting.push(resolve));
		}

		try {
			return await work();
		} finally {
			const next = this.#waiting.shift();
			if (next) {
				next();
			} else {
				this.#free++;
			}
		}
	}
}

type CacheEntry = {data: Buffer; expires: number};

/** MD5-keyed attachment cache (engine §9): a memory LRU for small items, an optional disk tier for large ones. */
export class AttachmentCache {
	readonly #memory = new Map<string, CacheEntry>();
	#memoryBytes = 0;

	constructor(private readonly options: Config['cache'], private readonly now: () => number = Date.now) {}

	get(tenantId: string, md5: string): Buffer | undefined {
		const key = `${tenantId}-${md5}`;
		const hit = this.#memory.get(key);
		if (hit) {
			this.#memory.delete(key);
			if (hit.expires > this.now()) {
				this.#memory.set(key, hit);
				return hit.data;
			}

			this.#memoryBytes -= hit.data.length;
		}

		const file = this.#diskPath(tenantId, md5);
		if (file) {
			try {
				const stat = fs.statSync(file);
				if (stat.mtimeMs + this.options.diskTtlMs > this.now()) {
					const data = fs.readFileSync(file);
					if (data.length < this.options.diskThresholdBytes) {
						this.#remember(key, data);
					}

					return data;
				}

				fs.rmSync(file, {force: true});
			} catch {}
		}

		return undefined;
	}

	set(tenantId: string, md5: string, data: Buffer): void {
		if (data.length < this.options.diskThresholdBytes) {
			this.#remember(`${tenantId}-${md5}`, data);
			return;
		}

		const file = this.#diskPath(tenantId, md5);
		if (file && data.length <= this.options.diskMaxBytes) {
			fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
			fs.writeFileSync(file, data, {mode: 0o600});
			this.#evictDisk();
		}
	}

	/** Drops expired entries (run every minute). */
	sweep(): void {
		const now = this.now();
		for (const [key, entry] of this.#memory) {
			if (entry.expires <= now) {
				this.#memory.delete(key);
				this.#memoryBytes -= entry.data.length;
			}
		}

		this.#evictDisk();
	}

	#remember(key: string, data: Buffer): void {
		if (data.length > this.options.memoryMaxBytes) {
			return;
		}

		const old = this.#memory.get(key);
		if (old) {
			this.#memory.delete(key);
			this.#memoryBytes -= old.data.length;
		}

		this.#memory.set(key, {data, expires: this.now() + this.options.memoryTtlMs});
		this.#memoryBytes += data.length;
		for (const [oldest, entry] of this.#memory) {
			if (this.#memoryBytes <= this.options.memoryMaxBytes) {
				break;
			}

			this.#memory.delete(oldest);
			this.#memoryBytes -= entry.data.length;
		}
	}

	#diskPath(tenantId: string, md5: string): string | undefined {
		return this.options.diskDir ? path.join(this.options.diskDir, md5.slice(0, 2), `${tenantId}-${md5}`) : undefined;
	}

	/** Oldest files first, until the disk tier is under its size; expired files always. */
	#evictDisk(): void {
		const dir = this.options.diskDir;
		if (!dir || !fs.existsSync(dir)) {
			return;
		}

		const files: Array<{file: string; size: number; mtime: number}> = [];
		for (const sub of fs.readdirSync(dir)) {
			for (const name of fs.readdirSync(path.join(dir, sub))) {
				const file = path.join(dir, sub, name);
				const stat = fs.statSync(file);
				files.push({file, size: stat.size, mtime: stat.mtimeMs});
			}
		}

		let total = files.reduce((sum, item) => sum + item.size, 0);
		const now = this.now();
		for (const item of files.sort((a, b) => a.mtime - b.mtime)) {
			if (item.mtime + this.options.diskTtlMs <= now || total > this.options.diskMaxBytes) {
				fs.rmSync(item.file, {force: true});
				total -= item.size;
			}
		}
	}
}

/** Reads a response body, aborting at the cap. */
async function readCapped(response: Response, cap: number, filename: string): Promise<Buffer> {
	const chunks: Buffer[] = [];
	let size = 0;
	const reader = response.body?.getReader();
	if (!reader) {
		return Buffer.alloc(0);
	}

	for (;;) {
		const {done, value} = await reader.read();
		if (done) {
			break;
		}

		size += value.length;
		if (size > cap) {
			await reader.cancel();
			throw new DeliveryError(`Attachment ${filename} exceeds maximum size (${Math.round(cap / MiB)} MiB)`, false);
		}

		chunks.push(Buffer.from(value));
	}

	return Buffer.concat(chunks);
}

export type FetchContext = {tenant: Tenant; attachmentBaseDir: string | null};

/**
 * Resolves a message's attachments to bytes (engine §9). Any failure names the file: permanent ones
 * end the message in error, temporary ones (5xx, 408, 429, network, timeout) follow the retry schedule.
 */
export class AttachmentFetcher {
	readonly #slots = new Semaphore(MAX_IN_FLIGHT);

	constructor(
		private readonly config: Config,
		private readonly cache: AttachmentCache,
		private readonly log: Logger,
		private readonly nowSeconds: () => number,
	) {}

	async resolve(attachments: AttachmentPayload[], context: FetchContext): Promise<ReadyAttachment[]> {
		return Promise.all(attachments.map(async attachment => this.#one(attachment, context)));
	}

	async #one(attachment: AttachmentPayload, context: FetchContext): Promise<ReadyAttachment> {
		const {name, md5: marker} = cleanFilename(attachment.filename);
		const md5 = attachment.content_md5?.toLowerCase() ?? marker;
		const tenantId = context.tenant.id;
		let content = md5 ? this.cache.get(tenantId, md5) : undefined;
		let fetchedType: string | undefined;
		if (!content) {
			const fetched = await this.#slots.use(async () => this.#fetch(attachment, name, context));
			content = fetched.data;
			fetchedType = fetched.contentType;
			if (md5) {
				const actual = crypto.createHash('md5').update(content).digest('hex');
				if (actual !== md5) {
					this.log.warn(`attachment ${name}: content MD5 ${actual} differs from the given ${md5}`);
				}

				this.cache.set(tenantId, actual, content);
			}
		}

		if (content.length === 0) {
			throw new DeliveryError(`Attachment ${name} returned no data`, false);
		}

		if (content.length > this.config.attachmentMaxBytes) {
			throw new DeliveryError(`Attachment ${name} exceeds maximum size (${Math.round(this.config.attachmentMaxBytes / MiB)} MiB)`, false);
		}

		const guessed = detectMimeType(name);
		const contentType =
			attachment.mime_type ??
			(guessed && guessed !== 'application/octet-stream' ? guessed : undefined) ??
			(fetchedType && !fetchedType.startsWith('application/octet-stream') ? fetchedType.split(';')[0]!.trim() : undefined) ??
			'application/octet-stream';
		return {filename: name, content, contentType};
	}

	async #fetch(attachment: AttachmentPayload, name: string, context: FetchContext): Promise<{data: Buffer; contentType?: string}> {
		const mode = fetchModeOf(attachment);
		const location = attachment.storage_path;
		try {
			switch (mode) {
				case 'base64': {
					return {data: this.#decodeBase64(location.replace(/^base64:/, ''), name)};
				}

				case 'filesystem': {
					return {data: this.#readFile(location, name, context.attachmentBaseDir)};
				}

				case 'http_url': {
					const sameOrigin = context.tenant.client_base_url && originOf(location) === originOf(context.tenant.client_base_url);
					const auth = attachment.auth ?? (sameOrigin ? context.tenant.client_auth : null);
					return await this.#http(location, {method: 'GET', headers: authorizationHeader(auth)}, name);
				}

				case 'endpoint': {
					const base = context.tenant.client_base_url;
					if (!base) {
						throw new DeliveryError('No attachment endpoint configured for tenant', false);
					}

					const url = base.replace(/\/+$/, '') + (context.tenant.client_attachment_path ?? '/mail-proxy/attachments');
					const body = JSON.stringify({storage_path: location});
					const headers = {
						'Content-Type': 'application/json',
						...authorizationHeader(attachment.auth ?? context.tenant.client_auth),
						...signatureHeaders(context.tenant.client_signing_secret, body, this.nowSeconds()),
					};
					return await this.#http(url, {method: 'POST', headers, body}, name);
				}
			}
		} catch (error) {
			if (error instanceof DeliveryError) {
				throw error.message.startsWith('Attachment') || error.message.startsWith('No attachment') || error.message.startsWith('Filesystem')
					? error
					: new DeliveryError(`Attachment fetch failed for ${name}: ${error.message}`, error.temporary);
			}

			const cause = (error as Error).name === 'TimeoutError' ? 'timeout' : (error as Error).message;
			throw new DeliveryError(`Attachment fetch failed for ${name}: ${cause}`, true);
		}
	}

	#decodeBase64(text: string, name: string): Buffer {
		const compact = text.replaceAll(/\s+/g, '');
		if (!/^[A-Za-z\d+/]*={0,2}$/.test(compact) || compact.replace(/=+$/, '').length % 4 === 1) {
			throw new DeliveryError(`Attachment fetch failed for ${name}: invalid base64 data`, false);
		}

		const padded = compact.replace(/=+$/, '');
		return Buffer.from(padded + '='.repeat((4 - (padded.length % 4)) % 4), 'base64');
	}

	#readFile(location: string, name: string, baseDir: string | null): Buffer {
		if (!baseDir) {
			throw new DeliveryError('Filesystem attachments are disabled', false);
		}

		let base: string;
		let real: string;
		try {
			base = fs.realpathSync(baseDir);
			// Absolute paths as given, relative ones against the base; either way it must end up inside it.
			real = fs.realpathSync(path.resolve(base, location));
		} catch {
			throw new DeliveryError(`Attachment fetch failed for ${name}: file not found`, false);
		}

		// Containment after resolving every symbolic link: nothing outside the base directory is readable.
		if (real !== base && !real.startsWith(base + path.sep)) {
			throw new DeliveryError(`Attachment fetch failed for ${name}: path outside the attachment directory`, false);
		}

		const stat = fs.statSync(real);
		if (!stat.isFile()) {
			throw new DeliveryError(`Attachment fetch failed for ${name}: not a regular file`, false);
		}

		if (stat.size > this.config.attachmentMaxBytes) {
			throw new DeliveryError(`Attachment ${name} exceeds maximum size (${Math.round(this.config.attachmentMaxBytes / MiB)} MiB)`, false);
		}

		return fs.readFileSync(real);
	}

	/** Redirects followed by hand (at most 5): credentials are dropped when the origin changes. */
	async #http(url: string, init: {method: string; headers: Record<string, string>; body?: string}, name: string): Promise<{data: Buffer; contentType?: string}> {
		const signal = AbortSignal.timeout(FETCH_TIMEOUT_MS);
		let current = url;
		let headers = init.headers;
		const origin = originOf(url);
		for (let redirects = 0; ; redirects++) {
			if (!/^https?:\/\//i.test(current)) {
				throw new DeliveryError(`Attachment fetch failed for ${name}: unsupported URL`, false);
			}

			const response = await fetch(current, {method: init.method, headers, body: init.body, redirect: 'manual', signal});
			if (response.status >= 300 && response.status < 400 && response.headers.get('location')) {
				await response.body?.cancel();
				if (redirects >= MAX_REDIRECTS) {
					throw new DeliveryError(`Attachment fetch failed for ${name}: too many redirects`, false);
				}

				current = new URL(response.headers.get('location')!, current).toString();
				if (originOf(current) !== origin) {
					const {Authorization: _dropped, ...rest} = headers;
					headers = rest;
				}

				continue;
			}

			if (!response.ok) {
				await response.body?.cancel();
				const temporary = response.status >= 500 || response.status === 408 || response.status === 429;
				throw new DeliveryError(`Attachment fetch failed for ${name}: HTTP ${response.status}`, temporary);
			}

			return {data: await readCapped(response, this.config.attachmentMaxBytes, name), contentType: response.headers.get('content-type') ?? undefined};
		}
	}
}

function originOf(url: string): string {
	try {
		return new URL(url).origin;
	} catch {
		return '';
	}
}
