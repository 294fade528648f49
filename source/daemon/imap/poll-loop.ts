import {errorMessage} from '../../shared/errors.js';
import type {Logger} from '../log.js';

const MAX_BACKOFF_MS = 300_000;

/**
 * Runs `poll` every `intervalMs()`; after a failure, again after the interval doubled per consecutive
 * failure (at most 5 min), logging why. One poll at a time. In test mode nothing is scheduled: only
 * `runOnce` (run-now) polls.
 */
export class PollLoop {
	#timer: NodeJS.Timeout | undefined;
	#running: Promise<void> | undefined;
	#failures = 0;
	#stopped = true;

	constructor(
		private readonly name: string,
		private readonly poll: () => Promise<void>,
		private readonly intervalMs: () => number,
		private readonly log: Logger,
		private readonly testMode: boolean,
	) {}

	start(): void {
		this.#stopped = false;
		if (!this.testMode) {
			this.#schedule(0);
		}
	}

	async runOnce(): Promise<void> {
		if (this.#running) {
			await this.#running;
		}

		this.#running = (async () => {
			try {
				await this.poll();
				if (this.#failures > 0) {
					this.log.info(`${this.name}: working again after ${this.#failures} failed attempt(s)`);
				}

				this.#failures = 0;
			} catch (error) {
				this.#failures++;
				this.log.warn(`${this.name} failed (attempt ${this.#failures}): ${errorMessage(error)}`);
			}
		})();
		await this.#running;
		this.#running = undefined;
	}

	#schedule(delayMs: number): void {
		if (this.#stopped) {
			return;
		}

		this.#timer = setTimeout(() => {
			void this.runOnce().finally(() => {
				const interval = this.intervalMs();
				this.#schedule(this.#failures === 0 ? interval : Math.min(interval * 2 ** (this.#failures - 1), Math.max(interval, MAX_BACKOFF_MS)));
			});
		}, delayMs);
		this.#timer.unref();
	}

	async stop(): Promise<void> {
		this.#stopped = true;
		clearTimeout(this.#timer);
		await this.#running;
	}
}
