import crypto from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const EPOCH_US = Date.UTC(2025, 0, 1) * 1000;

function base62(value: number, width: number): string {
	let out = '';
	let rest = value;
	for (let index = 0; index < width; index++) {
		out = ALPHABET[rest % 62]! + out;
		rest = Math.floor(rest / 62);
	}

	return out;
}

// Random bytes are drawn from the OS in 16 KiB blocks: one syscall per ~700 pks instead of one each.
const pool = Buffer.alloc(16 * 1024);
let poolOffset = pool.length;

function randomByte(): number {
	if (poolOffset >= pool.length) {
		crypto.randomFillSync(pool);
		poolOffset = 0;
	}

	return pool[poolOffset++]!;
}

const codes = Array.from(ALPHABET, character => character.charCodeAt(0));

export function randomBase62(length: number): string {
	const out: number[] = [];
	while (out.length < length) {
		const byte = randomByte();
		// 248 = 4 * 62: drop the top values so every character is equally likely.
		if (byte < 248) {
			out.push(codes[byte % 62]!);
		}
	}

	return String.fromCharCode(...out);
}

let lastMicros = 0;

/**
 * Message pk: `Z` + 9 base62 chars of microseconds since 2025-01-01 UTC + 12 random base62 chars.
 * Sortable by creation; strictly increasing within a process (ties get the next microsecond).
 */
export function newPk(nowMs = Date.now()): string {
	let micros = Math.floor(nowMs * 1000) - EPOCH_US;
	if (micros <= lastMicros) {
		micros = lastMicros + 1;
	}

	lastMicros = micros;
	return 'Z' + base62(micros, 9) + randomBase62(12);
}

export function isPk(value: string): boolean {
	return /^Z[\dA-Za-z]{21}$/.test(value);
}
