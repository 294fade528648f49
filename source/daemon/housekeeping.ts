import v8 from 'node:v8';
import {epochSeconds} from '../shared/clock.js';
import {errorMessage} from '../shared/errors.js';
import type {Daemon} from './context.js';
import type {Part} from './worker.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const SEND_LOG_KEEP_SECONDS = 48 * 3600;
const TRIM_EVERY_MS = 15_000;
const TRIM_SLACK_BYTES = 32 * 1024 * 1024;

/**
 * After a burst (a large enqueue, a delivery run) V8 keeps its grown heap. When more than 32 MiB of it
 * is free, a full collection compacts it and returns the pages to the OS, so the daemon's memory
 * follows its load. Needs --expose-gc (the supervisor starts the worker with it).
 */
function trimMemory(): void {
	const gc = (globalThis as {gc?: (options?: {type: string}) => void}).gc;
	const heap = v8.getHeapStatistics();
	if (gc && heap.total_heap_size - heap.used_heap_size > TRIM_SLACK_BYTES) {
		gc({type: 'major'});
	}
}

/**
 * Periodic jobs of engine §14: report retention (only fully acknowledged messages, after the retention
 * period; unreportable tenants by age), send-log and command-log pruning. In test mode they run only
 * on run-now. Unprocessed messages are never purged.
 */
export function housekeeping(daemon: Daemon): Part {
	const {store, config, log, bus} = daemon;
	let timer: NodeJS.Timeout | undefined;
	let trim: NodeJS.Timeout | undefined;
	let lastRetention = 0;
	let lastHourly = 0;

	const runJobs = async (force: boolean) => {
		const now = daemon.clock.now();
		const nowTs = epochSeconds(daemon.clock);
		try {
			if (config.reportRetentionSeconds > 0 && (force || now - lastRetention >= MINUTE)) {
				lastRetention = now;
				const threshold = nowTs - config.reportRetentionSeconds;
				const purged = await store.write(() => store.messages.cleanup(null, threshold) + (config.clientSync.url ? 0 : store.messages.purgeUnreportable(threshold)));
				if (purged > 0) {
					log.info(`retention: purged ${purged} reported message(s)`);
				}
			}

			if (force || now - lastHourly >= HOUR) {
				lastHourly = now;
				await store.write(() => {
					store.sendLog.pruneBefore(nowTs - SEND_LOG_KEEP_SECONDS);
					if (config.commandLogRetentionSeconds > 0) {
						store.commandLog.purgeBefore(nowTs - config.commandLogRetentionSeconds);
					}
				});
			}
		} catch (error) {
			log.warn(`housekeeping failed: ${errorMessage(error)}`);
		}
	};

	const onRunNow = () => void runJobs(true);
	// Report retention runs after report cycles, at most once a minute.
	const onAcknowledged = () => void runJobs(false);
	return {
		name: 'housekeeping',
		start() {
			bus.on('run-now', onRunNow);
			if (!config.testMode) {
				bus.on('reports-acknowledged', onAcknowledged);
			}

			trim = setInterval(trimMemory, TRIM_EVERY_MS);
			trim.unref();
			if (!config.testMode) {
				timer = setInterval(() => void runJobs(false), MINUTE);
				timer.unref();
				void runJobs(false);
			}
		},
		async stop() {
			bus.off('run-now', onRunNow);
			bus.off('reports-acknowledged', onAcknowledged);
			clearInterval(timer);
			clearInterval(trim);
		},
	};
}
