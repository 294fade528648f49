import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {cli} from '../helpers/cli.js';
import {killAll, processesMentioning} from '../helpers/home.js';
import {instancePaths} from '../../source/shared/paths.js';
import {readPidfile} from '../../source/shared/pidfile.js';
import {round, rssMiB, stats, type Row} from './util.js';

/** Wall time of `start` (until healthy) and `list --json`, and idle RSS of supervisor and worker. */
export async function lifecycleBench(): Promise<Row[]> {
	const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mail-proxy-bench-'));
	const rows: Row[] = [];
	try {
		const starts: number[] = [];
		const creates: number[] = [];
		for (let index = 0; index < 5; index++) {
			const created = await cli(home, ['start', `b${index}`]);
			creates.push(created.durationMs);
			await cli(home, ['stop', `b${index}`]);
			const started = await cli(home, ['start', `b${index}`]);
			if (started.exitCode !== 0) {
				throw new Error(started.stderr);
			}

			starts.push(started.durationMs);
		}

		const lists: number[] = [];
		for (let index = 0; index < 20; index++) {
			lists.push((await cli(home, ['list', '--json'])).durationMs);
		}

		await new Promise(resolve => setTimeout(resolve, 3000));
		const info = readPidfile(instancePaths('b0', home))!;
		rows.push(
			{section: 'lifecycle', metric: 'start of a new instance (until healthy), median', value: round(stats(creates).p50, 0), unit: 'ms'},
			{section: 'lifecycle', metric: 'start of an existing instance (until healthy), median', value: round(stats(starts).p50, 0), unit: 'ms', target: '≤ 10000', ok: stats(starts).p50 <= 10_000},
			{section: 'lifecycle', metric: 'list --json with 5 running instances, median', value: round(stats(lists).p50, 0), unit: 'ms', target: '< 200', ok: stats(lists).p50 < 200},
			{section: 'lifecycle', metric: 'supervisor RSS, idle', value: round(rssMiB(info.supervisorPid), 1), unit: 'MiB'},
			{section: 'lifecycle', metric: 'worker RSS, idle', value: round(rssMiB(info.pid!), 1), unit: 'MiB'},
		);
		for (let index = 0; index < 5; index++) {
			await cli(home, ['stop', `b${index}`]);
		}
	} finally {
		killAll(processesMentioning(home));
		fs.rmSync(home, {recursive: true, force: true});
	}

	return rows;
}
