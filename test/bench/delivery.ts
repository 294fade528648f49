import fs from 'node:fs';
import {fileURLToPath} from 'node:url';
import {execa} from 'execa';
import {smtpSink} from '../helpers/smtp-sink.js';
import {benchInstance, batch, prefill} from './enqueue.js';
import {round, rssMiB, stats, type Row} from './util.js';

const BODY = '<p>Dear customer,</p><p>' + 'Your invoice is attached. Thank you for your business. '.repeat(8) + '</p>';
const COUNT = 3000;
const CONCURRENCY = 3;

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) {
			throw new Error('bench: timed out');
		}

		await new Promise(resolve => setTimeout(resolve, 5));
	}
}

function workerPid(home: string): number {
	return (JSON.parse(fs.readFileSync(`${home}/bench/server.pid`, 'utf8')) as {pid: number}).pid;
}

/**
 * The ceiling: raw nodemailer, pooled, with the concurrency the proxy gives one account, in its own
 * process (as an application sending directly would be).
 */
async function rawNodemailer(port: number, count: number): Promise<number> {
	const {stdout} = await execa(process.execPath, [fileURLToPath(new URL('raw-sender.js', import.meta.url)), String(port), String(count), String(CONCURRENCY)]);
	return Number(stdout.trim());
}

export async function deliveryBench(options: {queued?: number} = {}): Promise<Row[]> {
	const rows: Row[] = [];
	const sink = await smtpSink(undefined);
	try {
		await rawNodemailer(sink.port, 300);
		const instance = await benchInstance({});
		try {
			const headers = {'X-API-Token': instance.token, 'Content-Type': 'application/json'};
			await fetch(`${instance.url}/account`, {method: 'POST', headers, body: JSON.stringify({id: 'smtp', tenant_id: 'bench', host: '127.0.0.1', port: sink.port, tls_mode: 'none'})});
			await new Promise(resolve => setTimeout(resolve, 1500));
			rows.push({section: 'delivery', metric: 'worker RSS, idle', value: round(rssMiB(workerPid(instance.home)), 1), unit: 'MiB', target: '≤ 80', ok: rssMiB(workerPid(instance.home)) <= 80});

			// Idle latency: one message at a time, from the POST to the end of DATA at the sink.
			const latencies: number[] = [];
			for (let index = 0; index < 120; index++) {
				const before = sink.received.length;
				const started = performance.now();
				await fetch(`${instance.url}/commands/add-messages`, {method: 'POST', headers, body: batch(1)()});
				await waitUntil(() => sink.received.length > before, 10_000);
				if (index >= 20) {
					latencies.push(performance.now() - started);
				}

				await new Promise(resolve => setTimeout(resolve, 20));
			}

			const latency = stats(latencies);
			rows.push({section: 'delivery', metric: 'enqueue → DATA latency, idle: p50', value: round(latency.p50, 2), unit: 'ms', target: '≤ 20', ok: latency.p50 <= 20});
			rows.push({section: 'delivery', metric: 'enqueue → DATA latency, idle: p99', value: round(latency.p99, 2), unit: 'ms'});

			// Throughput, alternating with the raw baseline (this machine drifts): queue while suspended, then
			// release and time until the sink has everything.
			const raws: number[] = [];
			const proxies: number[] = [];
			for (let round = 0; round < 3; round++) {
				raws.push(await rawNodemailer(sink.port, COUNT));
				await fetch(`${instance.url}/commands/suspend?tenant_id=bench`, {method: 'POST', headers});
				await prefill(instance, COUNT, 1);
				const before = sink.received.length;
				const started = performance.now();
				await fetch(`${instance.url}/commands/activate?tenant_id=bench`, {method: 'POST', headers});
				await waitUntil(() => sink.received.length - before >= COUNT, 120_000);
				proxies.push(COUNT / ((performance.now() - started) / 1000));
			}

			const median = (values: number[]) => [...values].sort((a, b) => a - b)[1]!;
			const ratio = median(proxies.map((proxied, index) => proxied / raws[index]!));
			rows.push({section: 'delivery', metric: `raw nodemailer pool → sink, ${CONCURRENCY} connections (median of 3)`, value: round(median(raws), 0), unit: 'msg/s'});
			rows.push({section: 'delivery', metric: 'mail-proxy → sink, one account, 3 concurrent sends (median of 3)', value: round(median(proxies), 0), unit: 'msg/s'});
			rows.push({section: 'delivery', metric: 'mail-proxy vs raw nodemailer (median of rounds)', value: round(ratio, 2), unit: 'x', target: '≥ 0.7', ok: ratio >= 0.7});

			// Memory with a large queue: suspended, so nothing is sent while it is measured.
			const queued = options.queued ?? 1_000_000;
			await fetch(`${instance.url}/commands/suspend?tenant_id=bench`, {method: 'POST', headers});
			await prefill(instance, queued, 2);
			rows.push({section: 'delivery', metric: `worker RSS right after queuing ${queued}`, value: round(rssMiB(workerPid(instance.home)), 1), unit: 'MiB'});
			// Steady state with the queue held: measured once the ingestion burst is over.
			await new Promise(resolve => setTimeout(resolve, 20_000));
			const rss = rssMiB(workerPid(instance.home));
			rows.push({section: 'delivery', metric: `worker RSS with ${queued} queued (20 s later)`, value: round(rss, 1), unit: 'MiB', target: '≤ 150', ok: rss <= 150});
		} finally {
			instance.cleanup();
		}
	} finally {
		await sink.close();
	}

	return rows;
}
