import {Worker} from 'node:worker_threads';
import type {Daemon} from './context.js';
import type {Part} from './worker.js';

/** Keeps WAL checkpoints off the request path (see checkpoint-thread.ts). */
export function checkpointer(daemon: Daemon, intervalMs = 250): Part {
	let thread: Worker | undefined;
	return {
		name: 'checkpointer',
		start() {
			const file = daemon.store.db.name;
			if (file === ':memory:' || file === '') {
				return;
			}

			// A tiny isolate: it only runs PRAGMA wal_checkpoint.
			thread = new Worker(new URL('checkpoint-thread.js', import.meta.url), {
				workerData: {file, intervalMs},
				resourceLimits: {maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16, codeRangeSizeMb: 4},
			});
			thread.on('error', error => daemon.log.warn(`checkpointer: ${error.message}`));
			thread.unref();
		},
		async stop() {
			if (!thread) {
				return;
			}

			const current = thread;
			await new Promise<void>(resolve => {
				const timer = setTimeout(() => void current.terminate().then(() => resolve()), 2000);
				current.once('message', () => {
					clearTimeout(timer);
					resolve();
				});
				current.postMessage('stop');
			});
		},
	};
}
