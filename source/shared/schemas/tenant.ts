import {z} from 'zod';
import {AbsolutePath, HttpUrl, Id, QueryBool} from './common.js';

/** Credentials the proxy presents to the client (callbacks, attachment endpoint). Unknown keys → 422. */
export const TenantAuth = z
	.strictObject({
		method: z.enum(['none', 'bearer', 'basic']).default('none'),
		token: z.string().nullish(),
		user: z.string().nullish(),
		password: z.string().nullish(),
	})
	.superRefine((auth, context) => {
		if (auth.method === 'bearer' && !auth.token) {
			context.addIssue({code: 'custom', path: ['token'], message: 'Value error, bearer auth requires token'});
		}

		if (auth.method === 'basic' && (!auth.user || !auth.password)) {
			context.addIssue({code: 'custom', path: [auth.user ? 'password' : 'user'], message: 'Value error, basic auth requires user and password'});
		}
	})
	.meta({id: 'TenantAuth'});
export type TenantAuth = z.infer<typeof TenantAuth>;

export const RateLimits = z
	.strictObject({
		hourly: z.number().int().min(0).default(0),
		daily: z.number().int().min(0).default(0),
	})
	.meta({id: 'RateLimits'});
export type RateLimits = z.infer<typeof RateLimits>;

export const LargeFileConfig = z
	.strictObject({
		enabled: z.boolean().default(false),
		max_size_mb: z.number().gt(0).default(10),
		action: z.enum(['warn', 'reject', 'rewrite']).default('warn'),
		file_ttl_days: z.number().int().min(1).default(30),
		lifespan_after_download_days: z.number().int().min(1).nullish(),
		public_base_url: HttpUrl.nullish(),
		storage_url: z.string().nullish(),
	})
	.meta({id: 'LargeFileConfig'});
export type LargeFileConfig = z.infer<typeof LargeFileConfig>;

const SigningSecret = z.union([z.literal(''), z.string().min(16).max(256)]);

/** The configurable fields of a tenant, shared by create/replace (POST) and partial update (PUT). */
const tenantFields = {
	name: z.string().max(255).nullish(),
	client_base_url: HttpUrl.nullish(),
	client_sync_path: AbsolutePath.nullish(),
	client_attachment_path: AbsolutePath.nullish(),
	client_auth: TenantAuth.nullish(),
	client_signing_secret: SigningSecret.nullish(),
	rate_limits: RateLimits.nullish(),
	large_file_config: LargeFileConfig.nullish(),
};

/** `POST /tenant`: create or replace. */
export const TenantPayload = z
	.object({
		id: Id,
		...tenantFields,
		active: z.boolean().default(true),
	})
	.meta({id: 'TenantPayload'});
export type TenantPayload = z.infer<typeof TenantPayload>;

/** `PUT /tenant/{id}`: absent or null = unchanged. */
export const TenantUpdate = z
	.object({
		...tenantFields,
		active: z.boolean().nullish(),
	})
	.meta({id: 'TenantUpdate'});
export type TenantUpdate = z.infer<typeof TenantUpdate>;

export const TenantsQuery = z.object({active_only: QueryBool.optional()});
