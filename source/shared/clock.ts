/** Injectable time: retry, rate-limit, lease and report logic read the clock, never Date directly. */
export type Clock = {
	/** Milliseconds since the epoch. */
	now(): number;
};

export const systemClock: Clock = {now: () => Date.now()};

export function epochSeconds(clock: Clock = systemClock): number {
	return Math.floor(clock.now() / 1000);
}

/** ISO-8601 UTC without offset or fraction (the 0.6 wire format): `2026-01-28T10:15:00`. */
let cachedSecond = Number.NaN;
let cachedIso = '';

export function isoSeconds(ms: number): string {
	const second = Math.floor(ms / 1000);
	if (second !== cachedSecond) {
		cachedSecond = second;
		cachedIso = new Date(second * 1000).toISOString().slice(0, 19);
	}

	return cachedIso;
}

export function isoNow(clock: Clock = systemClock): string {
	return isoSeconds(clock.now());
}
