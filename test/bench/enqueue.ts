import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {cli} from '../helpers/cli.js';
import {killAll, processesMentioning} from '../helpers/home.js';
import {load, type LoadResult} from './load.js';
import {round, type Row} from './util.js';

const BODY = '<p>Dear customer,</p><p>' + 'Your invoice is attached. Thank you for your business. '.repeat(8) + '</p>';

let counter = 0;
export function message(tenant = 'bench', account = 'smtp') {
	counter++;
	return {id: `m-${process.pid}-${counter}`, tenant_id: tenant, account_id: account, from: 'Billing <billing@bench.example>', to: ['customer@example.org'], subject: `Invoice ${counter}`, body: BODY, content_type: 'html'};
}

export const single = () => JSON.stringify({messages: [message()]});

/**
 * A batch body rendered from a template: only the ids and subjects change, so the client spends its
 * time sending, not serializing (the daemon, not the load generator, is what is measured).
 */
export const batch = (size: number, tenant = 'bench') => {
	const template = JSON.stringify({...message(tenant), id: '\u0000ID', subject: 'Invoice \u0000ID'});
	const [head, middle, tail] = template.split('\\u0000ID');
	return () => {
		const parts: string[] = [];
		for (let index = 0; index < size; index++) {
			counter++;
			const id = `m-${process.pid}-${counter}`;
			parts.push(head + id + middle + id + tail);
		}

		return `{"messages":[${parts.join(',')}]}`;
	};
};

export type BenchInstance = {home: string; url: string; token: string; cleanup(): void};

/** A real daemon (started by the CLI, as a user would) with one tenant and one account. */
export async function benchInstance(env: Record<string, string>, name = 'bench'): Promise<BenchInstance> {
	const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mail-proxy-bench-'));
	const started = await cli(home, ['start', name, '--json'], {env});
	if (started.exitCode !== 0) {
		throw new Error(started.stderr);
	}

	const {url, api_token: token} = JSON.parse(started.stdout) as {url: string; api_token: string};
	const headers = {'X-API-Token': token, 'Content-Type': 'application/json'};
	await fetch(`${url}/tenant`, {method: 'POST', headers, body: JSON.stringify({id: 'bench'})});
	await fetch(`${url}/account`, {method: 'POST', headers, body: JSON.stringify({id: 'smtp', tenant_id: 'bench', host: '127.0.0.1', port: 2525})});
	return {
		home,
		url,
		token,
		cleanup() {
			killAll(processesMentioning(home));
			fs.rmSync(home, {recursive: true, force: true});
		},
	};
}

async function floor(): Promise<{url: string; stop(): void}> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mail-proxy-floor-'));
	const child = spawn(process.execPath, [fileURLToPath(new URL('floor-server.js', import.meta.url)), path.join(dir, 'floor.db')], {stdio: ['ignore', 'pipe', 'inherit']});
	const port = await new Promise<string>(resolve => child.stdout!.once('data', chunk => resolve(String(chunk).trim())));
	return {
		url: `http://127.0.0.1:${port}`,
		stop() {
			child.kill('SIGKILL');
			fs.rmSync(dir, {recursive: true, force: true});
		},
	};
}

function latencyRows(label: string, result: LoadResult, targets: {p50?: number; p99?: number} = {}): Row[] {
	return [
		{section: 'enqueue', metric: `${label}: req/s`, value: round(result.rps, 0), unit: 'req/s'},
		{section: 'enqueue', metric: `${label}: p50`, value: round(result.p50, 3), unit: 'ms', ...(targets.p50 === undefined ? {} : {target: `≤ ${targets.p50}`, ok: result.p50 <= targets.p50})},
		{section: 'enqueue', metric: `${label}: p99`, value: round(result.p99, 3), unit: 'ms', ...(targets.p99 === undefined ? {} : {target: `≤ ${targets.p99}`, ok: result.p99 <= targets.p99})},
	];
}

/** Prefills `total` messages in batches of 1000 over `clients` connections; returns messages/s. */
export async function prefill(instance: BenchInstance, total: number, clients = 2, tenant?: string): Promise<number> {
	const headers = {'X-API-Token': instance.token, 'Content-Type': 'application/json'};
	let remaining = Math.ceil(total / 1000);
	const started = performance.now();
	await Promise.all(
		Array.from({length: clients}, async () => {
			while (remaining > 0) {
				remaining--;
				const response = await fetch(`${instance.url}/commands/add-messages`, {method: 'POST', headers, body: batch(1000, tenant)()});
				if (!response.ok) {
					throw new Error(`prefill failed: ${response.status} ${await response.text()}`);
				}
			}
		}),
	);
	return total / ((performance.now() - started) / 1000);
}

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs `times` measurements and keeps the median one by throughput (this machine is noisy). */
async function medianRun(times: number, run: () => Promise<LoadResult>): Promise<LoadResult> {
	const results: LoadResult[] = [];
	for (let index = 0; index < times; index++) {
		results.push(await run());
	}

	return results.sort((a, b) => a.rps - b.rps)[Math.floor(times / 2)]!;
}

export async function enqueueBench(options: {queued?: number; rounds?: number} = {}): Promise<Row[]> {
	const rows: Row[] = [];
	const seconds = 6;
	const rounds = options.rounds ?? 3;
	const floorServer = await floor();
	const instance = await benchInstance({GMP_TEST_MODE: 'true'});
	try {
		const request = {path: '/commands/add-messages', body: single, headers: {'X-API-Token': instance.token}};
		// Floor and daemon alternate, so that drift of this shared machine hits both alike.
		const floors: LoadResult[] = [];
		const ours: LoadResult[] = [];
		for (let round = 0; round < rounds; round++) {
			floors.push(await load(floorServer.url, 32, seconds, {path: '/', body: single}));
			ours.push(await load(instance.url, 32, seconds, request));
		}

		floorServer.stop();
		const pick = (results: LoadResult[]) => results.sort((a, b) => a.rps - b.rps)[Math.floor(results.length / 2)]!;
		const floorResult = pick([...floors]);
		const many = pick([...ours]);
		const ratio = median(ours.map((result, index) => result.rps / floors[index]!.rps));
		rows.push(...latencyRows('(a) floor, node:http + insert, not durable, 32 clients', floorResult));
		const one = await medianRun(rounds, async () => load(instance.url, 1, seconds, request));
		rows.push(...latencyRows('(b) add-messages, 1 message, 1 client', one, {p50: 1, p99: 5}));
		rows.push(...latencyRows('(b) add-messages, 1 message, 32 clients', many, {p99: 15}));
		rows.push({section: 'enqueue', metric: '(b) 32 clients vs floor req/s (median of rounds)', value: round(ratio, 2), unit: 'x', target: '≥ 0.6', ok: ratio >= 0.6});

		const batches = await medianRun(rounds, async () => load(instance.url, 4, seconds, {path: '/commands/add-messages', body: batch(1000), headers: {'X-API-Token': instance.token}}));
		const perSecond = batches.rps * 1000;
		rows.push({section: 'enqueue', metric: '(c) batches of 1000, 4 clients: messages/s', value: round(perSecond, 0), unit: 'msg/s', target: '≥ 50000', ok: perSecond >= 50_000});
		rows.push({section: 'enqueue', metric: '(c) batches of 1000: p50 per request', value: round(batches.p50, 1), unit: 'ms'});

		const queued = options.queued ?? 1_000_000;
		const filled = await prefill(instance, queued);
		rows.push({section: 'enqueue', metric: `(d) prefill of ${queued} messages in batches of 1000`, value: round(filled, 0), unit: 'msg/s'});
		await new Promise(resolve => setTimeout(resolve, 2000));
		const loaded = await medianRun(rounds, async () => load(instance.url, 1, seconds, request));
		rows.push(...latencyRows(`(d) add-messages, 1 client, ${queued} queued`, loaded));
		const slower = loaded.p50 / one.p50;
		rows.push({section: 'enqueue', metric: `(d) p50 with ${queued} queued vs empty`, value: round(slower, 2), unit: 'x', target: '≤ 1.5', ok: slower <= 1.5});
		rows.push({section: 'enqueue', metric: `(d) p99 with ${queued} queued vs empty`, value: round(loaded.p99 / one.p99, 2), unit: 'x'});
	} finally {
		floorServer.stop();
		instance.cleanup();
	}

	return rows;
}
