/**
 * Runs in a worker thread: PASSIVE WAL checkpoints on its own connection, so the checkpoint's reads,
 * writes and fsyncs never run on the event loop that answers requests (inline they cost ~200 ms
 * p99 stalls). PASSIVE never blocks writers; the main connection has automatic checkpoints off.
 */
import {parentPort, workerData} from 'node:worker_threads';
import Database from 'better-sqlite3';

const {file, intervalMs} = workerData as {file: string; intervalMs: number};
const db = new Database(file);
db.pragma('busy_timeout = 0');
db.pragma('synchronous = FULL');
let stopped = false;

parentPort!.on('message', (message: string) => {
	if (message === 'stop') {
		stopped = true;
	}
});

function tick(): void {
	if (stopped) {
		try {
			db.pragma('wal_checkpoint(PASSIVE)');
		} catch {}

		db.close();
		parentPort!.postMessage('stopped');
		return;
	}

	try {
		db.pragma('wal_checkpoint(PASSIVE)');
	} catch {
		// Busy or locked: the next tick tries again.
	}

	setTimeout(tick, intervalMs);
}

tick();
