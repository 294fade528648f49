import {z} from 'zod';
import {STATUSES} from '../db/messages.js';
import {QueryBool, QueryInt} from './common.js';
import {TenantAuth} from './tenant.js';

export const PRIORITY_LABELS = {immediate: 0, high: 1, medium: 2, low: 3} as const;
export type PriorityLabel = keyof typeof PRIORITY_LABELS;
export const PRIORITY_NAMES = ['immediate', 'high', 'medium', 'low'] as const;

/** 0-3 (clamped), a numeric string, or an exact lowercase label. */
export const Priority = z
	.union([z.number().int(), z.string().regex(/^-?\d+$/), z.enum(['immediate', 'high', 'medium', 'low'])], {
		error: 'Input should be 0-3 or one of immediate, high, medium, low',
	})
	.transform(value => normalizePriority(value));

export function normalizePriority(value: number | string): number {
	if (typeof value === 'string' && value in PRIORITY_LABELS) {
		return PRIORITY_LABELS[value as PriorityLabel];
	}

	return Math.min(3, Math.max(0, Math.trunc(Number(value))));
}

const AddressList = z.union([z.array(z.string()), z.string()]);

/** One attachment (rest-api §2.5.1); unknown keys → 422. */
export const AttachmentPayload = z
	.strictObject({
		filename: z.string().min(1).max(255),
		storage_path: z.string().min(1),
		fetch_mode: z.enum(['endpoint', 'http_url', 'base64', 'filesystem']).nullish(),
		mime_type: z
			.string()
			.regex(/^[\w.+-]+\/[\w.+-]+$/, 'must be type/subtype')
			.nullish(),
		content_md5: z
			.string()
			.regex(/^[\da-fA-F]{32}$/, 'must be 32 hex characters')
			.nullish(),
		auth: TenantAuth.nullish(),
	})
	.meta({id: 'AttachmentPayload'});
export type AttachmentPayload = z.infer<typeof AttachmentPayload>;

/** One message of `add-messages` (unknown keys dropped). `from_addr` is an alias of `from`. */
export const MessagePayload = z
	.preprocess(
		value => {
			if (value && typeof value === 'object' && !Array.isArray(value) && !('from' in value) && 'from_addr' in value) {
				const {from_addr: from, ...rest} = value as Record<string, unknown>;
				return {...rest, from};
			}

			return value;
		},
		z.object({
			id: z.string(),
			tenant_id: z.string().nullish(),
			account_id: z.string(),
			from: z.string(),
			to: AddressList,
			cc: AddressList.nullish(),
			bcc: AddressList.nullish(),
			reply_to: z.string().nullish(),
			return_path: z.string().nullish(),
			subject: z.string().min(1),
			body: z.string().nullish(),
			content_type: z.string().nullish(),
			headers: z.record(z.string(), z.unknown()).nullish(),
			message_id: z.string().nullish(),
			attachments: z.array(AttachmentPayload).nullish(),
			priority: Priority.nullish(),
			deferred_ts: z.number().int().nullish(),
			batch_code: z.string().max(64).regex(/^[^,]*$/, 'must not contain ","').nullish(),
		}),
	)
	.meta({id: 'MessagePayload'});
export type MessagePayload = z.infer<typeof MessagePayload>;

export const EnqueuePayload = z
	.object({
		messages: z.array(MessagePayload),
		default_priority: Priority.nullish(),
	})
	.meta({id: 'EnqueueMessagesPayload'});
export type EnqueuePayload = z.infer<typeof EnqueuePayload>;

export const MessagesQuery = z.object({
	tenant_id: z.string().optional(),
	active_only: QueryBool.optional(),
	include_history: QueryBool.optional(),
	limit: QueryInt(1).optional(),
	offset: QueryInt(0).optional(),
	/** Addition: only messages with this derived status. */
	status: z.enum(STATUSES).optional(),
});

export const TenantQuery = z.object({tenant_id: z.string().optional()});

export const BatchQuery = z.object({
	tenant_id: z.string().optional(),
	batch_code: z.string().max(64).regex(/^[^,]*$/, 'must not contain ","').optional(),
});

export const DeleteMessagesPayload = z.object({ids: z.array(z.string()).default([])}).meta({id: 'DeleteMessagesPayload'});

export const CleanupPayload = z.object({older_than_seconds: z.number().int().nullish()}).meta({id: 'CleanupMessagesPayload'});
