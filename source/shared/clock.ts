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
export function isoSeconds(ms: number): string {
	return new Date(ms).toISOString().slice(0, 19);
}

export function isoNow(clock: Clock = systemClock): string {
	return isoSeconds(clock.now());
}
