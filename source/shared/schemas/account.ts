import {z} from 'zod';
import {Id} from './common.js';

const Limit = z.number().int().min(0).nullish();

/** `POST /account`: upsert of an SMTP account (rest-api §2.9). */
export const AccountPayload = z
	.object({
		id: Id,
		tenant_id: z.string().nullish(),
		host: z.string().min(1).max(255),
		port: z.number().int().min(1).max(65_535),
		user: z.string().max(255).nullish(),
		password: z.string().max(255).nullish(),
		ttl: z.number().int().min(0).default(300),
		limit_per_minute: Limit,
		limit_per_hour: Limit,
		limit_per_day: Limit,
		limit_behavior: z.enum(['defer', 'reject']).default('defer'),
		use_tls: z.boolean().nullish(),
		tls_mode: z.enum(['ssl', 'starttls', 'none']).nullish(),
		batch_size: z.number().int().min(1).nullish(),
		is_pec_account: z.boolean().default(false),
		imap_host: z.string().min(1).max(255).nullish(),
		imap_port: z.number().int().min(1).max(65_535).default(993),
		imap_user: z.string().max(255).nullish(),
		imap_password: z.string().max(255).nullish(),
		imap_ssl: z.boolean().default(true),
		imap_folder: z.string().min(1).max(255).default('INBOX'),
	})
	.meta({id: 'AccountPayload'});
export type AccountPayload = z.infer<typeof AccountPayload>;
