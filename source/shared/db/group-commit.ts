import fs from 'node:fs';
import type Database from 'better-sqlite3';

type Job = {run: () => unknown; weight: number; resolve: (value: unknown) => void; reject: (error: unknown) => void};

/** Messages (weight) per commit before yielding to the event loop, so acks of big batches go out early. */
const WEIGHT_PER_COMMIT = 1000;
type Outcome = {ok: true; value: unknown} | {ok: false; error: unknown};

/** An error may carry a write that must survive the rollback of its job (the command-log entry of a refusal). */
export type WithAfterRollback = {afterRollback?: () => void};

/**
 * Makes committed WAL frames durable with fdatasync on the -wal file, off the event loop (libuv thread
 * pool). SQLite's synchronous=FULL does the same fsync, but inline, blocking every request for the
 * duration of the disk flush. One sync runs at a time; commits made while it runs share the next one.
 */
export class WalSync {
	#fd: number | undefined;
	#running = false;
	#waiting: Array<(error: Error | null) => void> = [];
	/** Called each time a sync finishes (the committer flushes what queued up meanwhile). */
	onIdle: (() => void) | undefined;

	constructor(private readonly walFile: string) {}

	get busy(): boolean {
		return this.#running;
	}

	/** Resolves once everything committed before the call is on disk. */
	sync(): Promise<void> {
		return new Promise<void>((resolve, reject) => {
			this.#waiting.push(error => (error ? reject(error) : resolve()));
			this.#next();
		});
	}

	close(): void {
		if (this.#fd !== undefined) {
			fs.closeSync(this.#fd);
			this.#fd = undefined;
		}
	}

	#next(): void {
		if (this.#running || this.#waiting.length === 0) {
			return;
		}

		const batch = this.#waiting;
		this.#waiting = [];
		this.#running = true;
		const done = (error: Error | null) => {
			this.#running = false;
			for (const settle of batch) {
				settle(error);
			}

			this.#next();
			if (!this.#running) {
				this.onIdle?.();
			}
		};

		try {
			this.#fd ??= fs.openSync(this.walFile, 'r');
		} catch (error) {
			done(error as Error);
			return;
		}

		fs.fdatasync(this.#fd, done);
	}
}

/**
 * Group commit: every write queued during one event-loop turn runs in one transaction, each job in its
 * own savepoint so one failing job undoes only itself. The jobs' promises settle only once the commit is
 * on disk (WAL fdatasync), so an acknowledgement always means "durable"; meanwhile the event loop keeps
 * serving, and commits made during a sync share the next one.
 */
export class GroupCommit {
	#queue: Job[] = [];
	#scheduled = false;
	#batches = 0;
	#jobs = 0;
	readonly #wal: WalSync;

	constructor(private readonly db: Database.Database) {
		this.#wal = new WalSync(`${db.name}-wal`);
		this.#wal.onIdle = () => this.#schedule();
		// Durability comes from WalSync before any acknowledgement; SQLite need not block on fsync itself.
		db.pragma('synchronous = NORMAL');
	}

	run<T>(work: () => T, weight = 1): Promise<T> {
		return new Promise<T>((resolve, reject) => {
			this.#queue.push({run: work, weight, resolve: resolve as (value: unknown) => void, reject});
			this.#schedule();
		});
	}

	/**
	 * Commits at the end of this event-loop turn — unless a WAL sync is in flight: nothing committed now
	 * could be acknowledged before it ends anyway, so the queue keeps growing and commits (in one
	 * transaction, with one sync) as soon as it does.
	 */
	#schedule(): void {
		if (this.#scheduled || this.#queue.length === 0 || this.#wal.busy) {
			return;
		}

		this.#scheduled = true;
		setImmediate(() => this.flush());
	}

	/** Batches committed and jobs run so far (the bench reports the average batch size). */
	get stats(): {batches: number; jobs: number} {
		return {batches: this.#batches, jobs: this.#jobs};
	}

	/** Waits for everything committed so far to be on disk (shutdown). */
	async drain(): Promise<void> {
		while (this.#queue.length > 0) {
			this.flush();
		}

		await this.#wal.sync();
	}

	close(): void {
		this.#wal.close();
	}

	flush(): void {
		this.#scheduled = false;
		// Small jobs all go in one commit; a heavy one (a 1000-message enqueue) commits on its own and the
		// rest wait for the next turn, so its acknowledgement is not held back by work queued after it.
		let count = 0;
		let weight = 0;
		while (count < this.#queue.length && (count === 0 || weight + this.#queue[count]!.weight <= WEIGHT_PER_COMMIT)) {
			weight += this.#queue[count]!.weight;
			count++;
		}

		const jobs = count === this.#queue.length ? this.#queue : this.#queue.slice(0, count);
		this.#queue = count === this.#queue.length ? [] : this.#queue.slice(count);

		if (jobs.length === 0) {
			return;
		}

		let outcomes: Outcome[];
		try {
			// Optimistic: jobs validate before they write, so a batch normally commits as a whole without
			// per-job savepoints. If any job throws, the batch is rolled back and replayed with savepoints.
			outcomes = this.#commit(jobs, false) ?? this.#commit(jobs, true)!;
		} catch (error) {
			for (const job of jobs) {
				job.reject(error);
			}

			this.#schedule();
			return;
		}

		this.#batches++;
		this.#jobs += jobs.length;
		const settled = outcomes;
		this.#wal.sync().then(
			() => {
				for (const [index, job] of jobs.entries()) {
					const outcome = settled[index]!;
					if (outcome.ok) {
						job.resolve(outcome.value);
					} else {
						job.reject(outcome.error);
					}
				}
			},
			error => {
				for (const job of jobs) {
					job.reject(error);
				}
			},
		);
	}

	/**
	 * Runs the jobs in one transaction and commits. Without savepoints, returns undefined (after rolling
	 * back) as soon as a job fails; with savepoints, a failing job undoes only its own writes.
	 */
	#commit(jobs: Job[], savepoints: boolean): Outcome[] | undefined {
		const outcomes: Outcome[] = [];
		this.db.exec('BEGIN IMMEDIATE');
		try {
			for (const job of jobs) {
				if (!savepoints) {
					try {
						outcomes.push({ok: true, value: job.run()});
					} catch {
						this.db.exec('ROLLBACK');
						return undefined;
					}

					continue;
				}

				this.db.exec('SAVEPOINT job');
				try {
					const value = job.run();
					this.db.exec('RELEASE job');
					outcomes.push({ok: true, value});
				} catch (error) {
					this.db.exec('ROLLBACK TO job');
					this.db.exec('RELEASE job');
					try {
						(error as WithAfterRollback)?.afterRollback?.();
					} catch {}

					outcomes.push({ok: false, error});
				}
			}

			this.db.exec('COMMIT');
			return outcomes;
		} catch (error) {
			if (this.db.inTransaction) {
				this.db.exec('ROLLBACK');
			}

			throw error;
		}
	}
}
