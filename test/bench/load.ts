import http from 'node:http';

export type LoadResult = {requests: number; seconds: number; rps: number; p50: number; p99: number; mean: number; failures: number};

export type Request = {path: string; body: string | (() => string); headers?: Record<string, string>};

/**
 * Closed-loop load: `clients` concurrent keep-alive connections, each sending its next request as soon
 * as the previous one is answered, for `seconds` (after `warmupSeconds` not counted).
 */
export async function load(url: string, clients: number, seconds: number, request: Request, warmupSeconds = 1): Promise<LoadResult> {
	const target = new URL(url);
	const agent = new http.Agent({keepAlive: true, maxSockets: clients});
	const latencies: number[] = [];
	let failures = 0;
	let counting = false;
	let running = true;
	const send = () =>
		new Promise<number>(resolve => {
			const body = typeof request.body === 'function' ? request.body() : request.body;
			const started = process.hrtime.bigint();
			const req = http.request(
				{host: target.hostname, port: target.port, path: request.path, method: 'POST', agent, headers: {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...request.headers}},
				res => {
					let text = '';
					res.on('data', chunk => (text += res.statusCode === 200 ? '' : String(chunk)));
					res.on('end', () => {
						if (res.statusCode !== 200) {
							failures++;
							firstFailure ??= `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
						}

						resolve(Number(process.hrtime.bigint() - started) / 1e6);
					});
				},
			);
			req.on('error', () => {
				failures++;
				resolve(Number(process.hrtime.bigint() - started) / 1e6);
			});
			req.end(body);
		});

	let firstFailure: string | undefined;
	const worker = async () => {
		while (running) {
			const before = failures;
			const latency = await send();
			// Only answered, successful requests count: a fast error must never pass for throughput.
			if (counting && running && failures === before) {
				latencies.push(latency);
			}
		}
	};

	const workers = Array.from({length: clients}, async () => worker());
	await new Promise(resolve => setTimeout(resolve, warmupSeconds * 1000));
	counting = true;
	const started = performance.now();
	await new Promise(resolve => setTimeout(resolve, seconds * 1000));
	running = false;
	const elapsed = (performance.now() - started) / 1000;
	await Promise.all(workers);
	agent.destroy();
	if (failures > 0) {
		throw new Error(`${failures} request(s) failed during the load run (first: ${firstFailure ?? 'network error'})`);
	}

	const sorted = latencies.sort((a, b) => a - b);
	const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
	return {
		requests: sorted.length,
		seconds: elapsed,
		rps: sorted.length / elapsed,
		p50: at(50),
		p99: at(99),
		mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
		failures,
	};
}
