/**
 * The delivery baseline, run as its own process like any application would be: raw nodemailer, pooled,
 * sending `count` messages over `concurrency` connections. Prints messages/s.
 * Usage: node raw-sender.js <port> <count> <concurrency>
 */
import nodemailer from 'nodemailer';

const [port, count, concurrency] = process.argv.slice(2).map(Number) as [number, number, number];
const body = '<p>Dear customer,</p><p>' + 'Your invoice is attached. Thank you for your business. '.repeat(8) + '</p>';
const transport = nodemailer.createTransport({pool: true, host: '127.0.0.1', port, secure: false, ignoreTLS: true, maxConnections: concurrency, maxMessages: 100});
let next = 0;
const started = performance.now();
await Promise.all(
	Array.from({length: concurrency}, async () => {
		while (next < count) {
			next++;
			await transport.sendMail({from: 'Billing <billing@bench.example>', to: 'customer@example.org', subject: `Invoice ${next}`, html: body, headers: {'X-Genro-Mail-ID': `raw-${next}`}});
		}
	}),
);
process.stdout.write(`${count / ((performance.now() - started) / 1000)}\n`);
transport.close();
