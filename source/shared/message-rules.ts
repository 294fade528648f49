import addressparser from 'nodemailer/lib/addressparser';

/** Headers a client may not set: they are the proxy's (tracking, envelope, MIME structure). */
export const RESERVED_HEADERS = new Set(['bcc', 'return-path', 'mime-version', 'content-type', 'content-transfer-encoding', 'content-disposition', 'x-genro-mail-id', 'x-genro-mail-pk']);

/** RFC 5322 field name: printable ASCII except ':' (and no space). */
const HEADER_NAME = /^[\u0021-\u0039\u003B-\u007E]+$/;

const LOCAL = /^[^\s@"<>()[\],;:\\]+$|^"[^"\r\n]+"$/;
const DOMAIN = /^(?:[A-Za-z\d](?:[A-Za-z\d-]*[A-Za-z\d])?\.)*[A-Za-z\d](?:[A-Za-z\d-]*[A-Za-z\d])?$|^\[[^\]\s]+\]$/;

export function hasLineBreak(value: string): boolean {
	return /[\r\n]/.test(value);
}

export type ParsedAddress = {name: string; address: string};

function flatten(list: ReturnType<typeof addressparser>): ParsedAddress[] {
	const out: ParsedAddress[] = [];
	for (const entry of list as Array<{name: string; address?: string; group?: Array<{name: string; address: string}>}>) {
		if (entry.group) {
			out.push(...entry.group.map(member => ({name: member.name, address: member.address})));
		} else {
			out.push({name: entry.name, address: entry.address ?? ''});
		}
	}

	return out;
}

/** True when `address` is `local@domain`. */
export function isMailbox(address: string): boolean {
	const at = address.lastIndexOf('@');
	if (at <= 0 || at === address.length - 1) {
		return false;
	}

	return LOCAL.test(address.slice(0, at)) && DOMAIN.test(address.slice(at + 1));
}

// Fast paths for the common shapes ("a@b.example", "Name <a@b.example>"); anything else goes to
// nodemailer's RFC 5322 parser.
const PLAIN = /^[^\s@"<>()[\],;:\\]+@[A-Za-z\d.-]+$/;
const NAMED = /^([^<>",;:@\\()]*?)\s*<([^\s@"<>()[\],;:\\]+@[A-Za-z\d.-]+)>$/;

function simple(value: string): ParsedAddress | undefined {
	const trimmed = value.trim();
	if (PLAIN.test(trimmed)) {
		return isMailbox(trimmed) ? {name: '', address: trimmed} : undefined;
	}

	const named = NAMED.exec(trimmed);
	if (named && isMailbox(named[2]!)) {
		return {name: named[1]!.trim(), address: named[2]!};
	}

	return undefined;
}

/** Parses one address or an address list (quoted commas respected); throws the offending text. */
export function parseAddresses(value: string): ParsedAddress[] {
	const quick = simple(value);
	if (quick) {
		return [quick];
	}

	const parsed = flatten(addressparser(value));
	for (const entry of parsed) {
		if (!isMailbox(entry.address)) {
			throw new InvalidAddress(entry.address || entry.name || value);
		}
	}

	return parsed;
}

export class InvalidAddress extends Error {
	constructor(readonly text: string) {
		super(`invalid address ${text}`);
	}
}

/** A list given as an array or as one comma string, split into one entry per address. */
export function addressEntries(value: string | string[] | null | undefined): string[] {
	if (value === null || value === undefined) {
		return [];
	}

	if (Array.isArray(value)) {
		return value.map(entry => entry.trim()).filter(entry => entry !== '');
	}

	const quick = simple(value);
	if (quick) {
		return [value.trim()];
	}

	return flatten(addressparser(value)).map(entry => (entry.name ? `${quoteName(entry.name)} <${entry.address}>` : entry.address || entry.name));
}

function quoteName(name: string): string {
	return /^[\w !#$%&'*+/=?^`{|}~.-]+$/.test(name) ? name : `"${name.replaceAll(/(["\\])/g, '\\$1')}"`;
}

/** Just the addresses of a list of entries, de-duplicated case-insensitively (envelope recipients). */
export function envelopeAddresses(...lists: string[][]): string[] {
	const seen = new Set<string>();
	const out: string[] = [];
	for (const entry of lists.flat()) {
		for (const {address} of parseAddresses(entry)) {
			const key = address.toLowerCase();
			if (!seen.has(key)) {
				seen.add(key);
				out.push(address);
			}
		}
	}

	return out;
}

export function headerNameProblem(name: string): boolean {
	return !HEADER_NAME.test(name) || RESERVED_HEADERS.has(name.toLowerCase());
}
