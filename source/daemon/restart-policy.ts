/**
 * When to restart a crashed worker (after pm2's policy): a run shorter than `minUptimeMs` is a fast
 * crash; the delay grows x1.5 per restart up to `maxDelayMs` and resets after `stableMs` of uptime;
 * `maxFastCrashes` fast crashes in a row mean the worker cannot run, and the supervisor gives up.
 */
export type RestartDecision = {restart: true; delayMs: number} | {restart: false; reason: string};

export class RestartPolicy {
	#delay: number;
	#fastCrashes = 0;

	constructor(
		private readonly options = {initialDelayMs: 100, factor: 1.5, maxDelayMs: 15_000, minUptimeMs: 1000, stableMs: 30_000, maxFastCrashes: 16},
	) {
		this.#delay = options.initialDelayMs;
	}

	get fastCrashes(): number {
		return this.#fastCrashes;
	}

	onExit(uptimeMs: number): RestartDecision {
		const o = this.options;
		if (uptimeMs >= o.stableMs) {
			this.#delay = o.initialDelayMs;
		}

		this.#fastCrashes = uptimeMs < o.minUptimeMs ? this.#fastCrashes + 1 : 0;
		if (this.#fastCrashes >= o.maxFastCrashes) {
			return {restart: false, reason: `worker crashed ${this.#fastCrashes} times in a row within ${o.minUptimeMs} ms of starting`};
		}

		const delayMs = Math.round(this.#delay);
		this.#delay = Math.min(this.#delay * o.factor, o.maxDelayMs);
		return {restart: true, delayMs};
	}
}
