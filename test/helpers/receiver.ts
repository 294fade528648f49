import http from 'node:http';
import type {AddressInfo} from 'node:net';
import type {ExecutionContext} from 'ava';

export type Recorded = {method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer; at: number};

export type Answer = {status?: number; headers?: Record<string, string>; body?: string | Buffer; delayMs?: number};

export type Receiver = {
	url: string;
	port: number;
	requests: Recorded[];
	/** Replace the answering function (e.g. fail for a while, then recover). */
	answer: (request: Recorded) => Answer | Promise<Answer>;
	waitFor(predicate: (requests: Recorded[]) => boolean, timeoutMs?: number): Promise<void>;
	close(): Promise<void>;
};

/** A real HTTP server on 127.0.0.1 that records every request and answers as told. */
export async function httpReceiver(t: ExecutionContext | undefined, answer: Receiver['answer'] = () => ({status: 200, body: '{"ok":true}'})): Promise<Receiver> {
	const requests: Recorded[] = [];
	const receiver = {} as Receiver;
	receiver.answer = answer;
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', chunk => chunks.push(chunk));
		req.on('end', async () => {
			const recorded: Recorded = {method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: Date.now()};
			requests.push(recorded);
			const reply = await receiver.answer(recorded);
			if (reply.delayMs) {
				await new Promise(resolve => setTimeout(resolve, reply.delayMs));
			}

			res.writeHead(reply.status ?? 200, {'Content-Type': 'application/json', ...reply.headers});
			res.end(reply.body ?? '');
		});
	});
	server.keepAliveTimeout = 1000;
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	const port = (server.address() as AddressInfo).port;
	Object.assign(receiver, {
		url: `http://127.0.0.1:${port}`,
		port,
		requests,
		async waitFor(predicate: (requests: Recorded[]) => boolean, timeoutMs = 15_000) {
			const deadline = Date.now() + timeoutMs;
			while (!predicate(requests)) {
				if (Date.now() > deadline) {
					throw new Error(`the receiver did not get what was expected (${requests.length} request(s) so far)`);
				}

				await new Promise(resolve => setTimeout(resolve, 20));
			}
		},
		async close() {
			server.closeAllConnections();
			await new Promise<void>(resolve => server.close(() => resolve()));
		},
	});
	t?.teardown(async () => receiver.close());
	return receiver;
}
