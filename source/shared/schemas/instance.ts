import {z} from 'zod';
import {QueryInt} from './common.js';

export const DEFAULT_RETRY_DELAYS = [60, 300, 900, 3600, 7200];

export const RetryDelays = z.array(z.number().int().min(1).max(604_800)).min(1).max(20);

/** `PUT /instance`: absent or null = unchanged (rest-api §2.19). */
export const InstanceUpdate = z
	.object({
		name: z.string().min(1).max(255).nullish(),
		api_token: z.string().min(32).nullish(),
		bounce_enabled: z.boolean().nullish(),
		bounce_imap_host: z.string().max(255).nullish(),
		bounce_imap_port: z.number().int().min(1).max(65_535).nullish(),
		bounce_imap_user: z.string().max(255).nullish(),
		bounce_imap_password: z.string().max(255).nullish(),
		bounce_imap_folder: z.string().min(1).max(255).nullish(),
		bounce_imap_ssl: z.boolean().nullish(),
		bounce_poll_interval: z.number().int().min(10).nullish(),
		bounce_return_path: z
			.string()
			.max(255)
			.regex(/^$|^[^\s@<>]+@[^\s@<>]+$/, 'must be an e-mail address (or "" to clear it)')
			.nullish(),
		retry_delays: RetryDelays.nullish(),
		max_retries: z.number().int().min(0).max(20).nullish(),
	})
	.meta({id: 'InstanceUpdate'});
export type InstanceUpdate = z.infer<typeof InstanceUpdate>;

export const CommandLogQuery = z.object({
	tenant_id: z.string().optional(),
	since_ts: QueryInt(0).optional(),
	until_ts: QueryInt(0).optional(),
	endpoint_filter: z.string().optional(),
	limit: QueryInt(1, 10_000).optional(),
	offset: QueryInt(0).optional(),
});
export type CommandLogQuery = z.infer<typeof CommandLogQuery>;

export const CommandLogExportQuery = CommandLogQuery.pick({tenant_id: true, since_ts: true, until_ts: true});
