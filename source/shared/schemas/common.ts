import {z} from 'zod';

export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const Id = z.string().regex(ID_PATTERN, 'must be 1-64 letters, digits, "_" or "-"');

export const HttpUrl = z
	.string()
	.regex(/^https?:\/\/[^\s/?#]+[^\s]*$/i, 'must be an absolute http(s):// URL');

export const AbsolutePath = z.string().regex(/^\//, 'must start with "/"');

/** Booleans in the query string: true/false/1/0/yes/no/on/off, case-insensitive; anything else is 422. */
export const QueryBool = z
	.string()
	.transform((value, context) => {
		const lower = value.toLowerCase();
		if (['true', '1', 'yes', 'on'].includes(lower)) {
			return true;
		}

		if (['false', '0', 'no', 'off'].includes(lower)) {
			return false;
		}

		context.addIssue({code: 'custom', message: 'Input should be a valid boolean'});
		return z.NEVER;
	});

/** An integer in the query string. */
export const QueryInt = (min: number, max = Number.MAX_SAFE_INTEGER) =>
	z
		.string()
		.regex(/^-?\d+$/, 'Input should be a valid integer')
		.transform(Number)
		.pipe(z.number().int().min(min).max(max));

/** The secret mask used on output; on input it means "keep the stored value" (rest-api §1.4). */
export const MASK = '***';

/** Names the `id` of an existing message/tenant/account list: string array. */
export const StringList = z.array(z.string());
