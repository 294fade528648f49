/**
 * `npm run bench`: starts real daemons and measures; prints a table and writes the figures as JSON to
 * bench-results/latest.json. Never part of `npm test`. `npm run bench -- lifecycle` runs one section.
 */
import fs from 'node:fs';
import path from 'node:path';
import {deliveryBench} from './delivery.js';
import {enqueueBench} from './enqueue.js';
import {lifecycleBench} from './lifecycle.js';
import type {Row} from './util.js';

const sections: Record<string, () => Promise<Row[]>> = {
	lifecycle: lifecycleBench,
	enqueue: async () => enqueueBench({queued: Number(process.env['BENCH_QUEUED'] ?? 1_000_000)}),
	delivery: async () => deliveryBench({queued: Number(process.env['BENCH_QUEUED'] ?? 1_000_000)}),
};

const wanted = process.argv.slice(2);
const rows: Row[] = [];
for (const [name, run] of Object.entries(sections)) {
	if (wanted.length > 0 && !wanted.includes(name)) {
		continue;
	}

	process.stderr.write(`bench: ${name}...\n`);
	rows.push(...(await run()));
}

const width = Math.max(...rows.map(row => row.metric.length));
process.stdout.write(`${'section'.padEnd(10)}  ${'metric'.padEnd(width)}  ${'value'.padStart(10)}  unit   target\n`);
for (const row of rows) {
	const verdict = row.ok === undefined ? '' : row.ok ? ' ok' : ' MISSED';
	process.stdout.write(`${row.section.padEnd(10)}  ${row.metric.padEnd(width)}  ${String(row.value).padStart(10)}  ${row.unit.padEnd(5)}  ${row.target ?? ''}${verdict}\n`);
}

const out = path.resolve('bench-results');
fs.mkdirSync(out, {recursive: true});
fs.writeFileSync(path.join(out, 'latest.json'), JSON.stringify({date: new Date().toISOString(), node: process.version, rows}, null, 2) + '\n');
process.stderr.write(`bench: figures written to ${path.join(out, 'latest.json')}\n`);
