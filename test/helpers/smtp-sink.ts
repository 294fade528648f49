import type {AddressInfo} from 'node:net';
import type {ExecutionContext} from 'ava';
import {SMTPServer, type SMTPServerOptions} from 'smtp-server';

export type Received = {from: string; to: string[]; raw: Buffer; at: number};

export type Reply = {code: number; message: string};

export type SinkOptions = {
	/** Answer for a recipient (RCPT TO); undefined accepts it. Called on every attempt. */
	recipient?: (address: string) => Reply | undefined;
	/** Answer for the message data (end of DATA); undefined accepts it. */
	data?: (message: Received) => Reply | undefined;
	/** Required AUTH credentials (otherwise AUTH is optional). */
	auth?: {user: string; pass: string};
	port?: number;
	/** Milliseconds to wait before accepting each message (keeps sends in flight). */
	dataDelayMs?: number;
};

export type Sink = {
	port: number;
	received: Received[];
	/** Attempts per recipient, accepted or not. */
	attempts: Map<string, number>;
	waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
	close(): Promise<void>;
};

function smtpError(reply: Reply): Error {
	return Object.assign(new Error(reply.message), {responseCode: reply.code});
}

/** A real SMTP server on 127.0.0.1 that records what it receives and answers as scripted. */
export async function smtpSink(t: ExecutionContext | undefined, options: SinkOptions = {}): Promise<Sink> {
	const received: Received[] = [];
	const attempts = new Map<string, number>();
	const config: SMTPServerOptions = {
		secure: false,
		disabledCommands: options.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
		authOptional: !options.auth,
		allowInsecureAuth: true,
		logger: false,
		size: 50 * 1024 * 1024,
		onAuth(auth, _session, callback) {
			if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) {
				callback(null, {user: auth.username});
			} else {
				callback(smtpError({code: 535, message: '5.7.8 Authentication credentials invalid'}));
			}
		},
		onRcptTo(address, _session, callback) {
			attempts.set(address.address, (attempts.get(address.address) ?? 0) + 1);
			const reply = options.recipient?.(address.address);
			callback(reply ? smtpError(reply) : undefined);
		},
		onData(stream, session, callback) {
			const chunks: Buffer[] = [];
			stream.on('data', (chunk: Buffer) => chunks.push(chunk));
			stream.on('end', () => {
				const message: Received = {
					from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
					to: session.envelope.rcptTo.map(rcpt => rcpt.address),
					raw: Buffer.concat(chunks),
					at: Date.now(),
				};
				const finish = () => {
					const reply = options.data?.(message);
					if (reply) {
						callback(smtpError(reply));
						return;
					}

					received.push(message);
					callback();
				};

				if (options.dataDelayMs) {
					setTimeout(finish, options.dataDelayMs);
				} else {
					finish();
				}
			});
		},
	};
	const server = new SMTPServer(config);
	// A client killed mid-session (the crash tests do it) resets its connection: not a test failure.
	server.on('error', () => {});
	await new Promise<void>(resolve => server.listen(options.port ?? 0, '127.0.0.1', resolve));
	const port = (server.server.address() as AddressInfo).port;
	const sink: Sink = {
		port,
		received,
		attempts,
		async waitFor(count, timeoutMs = 15_000) {
			const deadline = Date.now() + timeoutMs;
			while (received.length < count) {
				if (Date.now() > deadline) {
					throw new Error(`the sink received ${received.length} message(s), expected ${count}`);
				}

				await new Promise(resolve => setTimeout(resolve, 20));
			}

			return received;
		},
		async close() {
			await new Promise<void>(resolve => server.close(() => resolve()));
		},
	};
	t?.teardown(async () => sink.close());
	return sink;
}

/** The header block of a received message, unfolded, as name → values. */
export function headersOf(raw: Buffer): Map<string, string[]> {
	const text = raw.toString('utf8');
	const end = text.search(/\r?\n\r?\n/);
	const block = (end === -1 ? text : text.slice(0, end)).replaceAll(/\r?\n[ \t]+/g, ' ');
	const headers = new Map<string, string[]>();
	for (const line of block.split(/\r?\n/)) {
		const index = line.indexOf(':');
		if (index > 0) {
			const name = line.slice(0, index).trim().toLowerCase();
			headers.set(name, [...(headers.get(name) ?? []), line.slice(index + 1).trim()]);
		}
	}

	return headers;
}
