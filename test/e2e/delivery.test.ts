import test from 'ava';
import {simpleParser} from 'mailparser';
import {deliverySetup} from '../helpers/delivery.js';
import {freePort, waitFor} from '../helpers/home.js';
import {headersOf} from '../helpers/smtp-sink.js';

/** A rate-limit check must fit in one UTC window: in its last 15 s, wait for the next window. */
async function roomInWindow(seconds: number): Promise<void> {
	const into = Date.now() % (seconds * 1000);
	if (into > seconds * 1000 - 15_000) {
		await new Promise(resolve => setTimeout(resolve, seconds * 1000 - into + 100));
	}
}

test('priority order on the wire: immediate, high, medium, low, FIFO within each', async t => {
	const {instance, enqueue, sink} = await deliverySetup(t, {account: {batch_size: 1}});
	// Queue everything while suspended, then release: one message per cycle shows the claim order.
	await instance.request('POST', '/commands/suspend?tenant_id=acme');
	await enqueue([
		{id: 'low-1', priority: 'low'},
		{id: 'medium-1'},
		{id: 'high-1', priority: 'high'},
		{id: 'immediate-1', priority: 'immediate'},
		{id: 'low-2', priority: 3},
	]);
	await enqueue([{id: 'high-2', priority: 1}, {id: 'immediate-2', priority: 0}, {id: 'medium-2', priority: '2'}]);
	await instance.request('POST', '/commands/activate?tenant_id=acme');
	const received = await sink.waitFor(8);
	const order = received.map(message => headersOf(message.raw).get('x-genro-mail-id')![0]);
	t.deepEqual(order, ['immediate-1', 'immediate-2', 'high-1', 'high-2', 'medium-1', 'medium-2', 'low-1', 'low-2']);
});

test('a message reaches the SMTP server with the tracking headers, its own headers, and Bcc only in the envelope', async t => {
	const {enqueue, sink, waitStatus, instance} = await deliverySetup(t);
	await enqueue([
		{
			id: 'inv-1',
			to: '"Doe, John" <john@example.org>, ann@example.org',
			cc: ['carol@example.org'],
			bcc: ['audit@acme.example', 'ANN@example.org'],
			reply_to: 'support@acme.example',
			subject: 'Fattura n° 42 — grazie',
			body: '<p>Ciao</p>',
			content_type: 'html',
			headers: {'X-Campaign': 'spring', 'X-Count': 3},
		},
		{id: 'inv-2', message_id: '<custom-id@acme.example>', return_path: 'bounces@acme.example'},
	]);
	await sink.waitFor(2);
	const first = sink.received.find(message => headersOf(message.raw).get('x-genro-mail-id')![0] === 'inv-1');
	const sent = await waitStatus('inv-1', 'sent');
	const headers = headersOf(first!.raw);
	const raw = first!.raw.toString('latin1');
	t.regex(raw, /^X-Genro-Mail-ID: inv-1\r$/m, 'the tracking headers are spelled exactly');
	t.regex(raw, new RegExp(`^X-Genro-Mail-PK: ${sent['pk']}\\r$`, 'm'));
	t.false(headers.has('bcc'), 'no Bcc header is ever transmitted');
	t.deepEqual(headers.get('x-campaign'), ['spring']);
	t.deepEqual(headers.get('x-count'), ['3']);
	t.deepEqual(headers.get('message-id'), [`<${sent['pk']}@acme.example>`]);
	t.truthy(headers.get('date'));
	t.is(first!.from, 'billing@acme.example', 'the envelope sender is From when there is no return path');
	t.deepEqual(first!.to, ['john@example.org', 'ann@example.org', 'carol@example.org', 'audit@acme.example'], 'to+cc+bcc, de-duplicated case-insensitively');
	const parsed = await simpleParser(first!.raw);
	t.is(parsed.subject, 'Fattura n° 42 — grazie');
	t.is(String(parsed.html).trim(), '<p>Ciao</p>');
	t.is(parsed.replyTo?.text, 'support@acme.example');
	t.is((parsed.to as {text: string}).text, '"Doe, John" <john@example.org>, ann@example.org');

	const second = sink.received.find(message => headersOf(message.raw).get('x-genro-mail-id')![0] === 'inv-2')!;
	t.deepEqual(headersOf(second.raw).get('message-id'), ['<custom-id@acme.example>']);
	t.is(second.from, 'bounces@acme.example', 'return_path is the envelope sender');
	t.false(headersOf(second.raw).has('return-path'), 'and writes no header');

	await instance.request('PUT', '/instance', {body: {bounce_return_path: 'bounce-box@acme.example'}});
	await enqueue([{id: 'inv-3'}]);
	await sink.waitFor(3);
	t.is(sink.received[2]!.from, 'bounce-box@acme.example', 'else the instance bounce_return_path');
	t.like(sent.history[0], {event_type: 'sent'});
	t.deepEqual(sent.history[0].metadata.accepted, ['john@example.org', 'ann@example.org', 'carol@example.org', 'audit@acme.example']);
});

test('a scheduled message is not sent before its deferred_ts, and is sent when it comes', async t => {
	const {enqueue, sink, waitStatus} = await deliverySetup(t);
	const at = Math.floor(Date.now() / 1000) + 2;
	await enqueue([{id: 'later', deferred_ts: at}, {id: 'now'}]);
	await sink.waitFor(1);
	t.is(headersOf(sink.received[0]!.raw).get('x-genro-mail-id')![0], 'now');
	await waitStatus('later', 'sent', 6000);
	t.true(sink.received[1]!.at >= at * 1000, 'not before its time');
	t.true(sink.received[1]!.at < (at + 2) * 1000, 'woken by the timer, close to its time');
});

test('451 defers by the first retry delay, then the message is delivered', async t => {
	let refusals = 1;
	const {enqueue, sink, waitStatus} = await deliverySetup(t, {
		retryDelays: [2, 5],
		sink: {recipient: () => (refusals-- > 0 ? {code: 451, message: '4.7.1 Greylisted, try again later'} : undefined)},
	});
	const before = Math.floor(Date.now() / 1000);
	await enqueue([{id: 'grey'}]);
	const deferred = await waitStatus('grey', 'deferred');
	const event = deferred.history.find((h: {event_type: string}) => h.event_type === 'deferred');
	t.is(event.description, '451 4.7.1 Greylisted, try again later (SMTP 451)');
	t.like(event.metadata, {kind: 'retry', attempt: 1, code: 451});
	t.true(event.event_ts >= before + 2 && event.event_ts <= before + 3, `retry at the first delay (±10 %): ${event.event_ts - before}`);
	t.is(deferred.deferred_ts, event.event_ts);
	const sent = await waitStatus('grey', 'sent', 8000);
	t.true(sink.received[0]!.at >= event.event_ts * 1000 - 50, 'not retried before its time');
	t.is(sent.message.retry_count, 1);
	t.deepEqual(sent.history.map((h: {event_type: string}) => h.event_type), ['deferred', 'sent']);
});

test('550 is a permanent error at once; a temporary failure that never ends exhausts the retries', async t => {
	const {enqueue, waitStatus, sink} = await deliverySetup(t, {
		retryDelays: [1],
		maxRetries: 2,
		sink: {recipient: address => (address.startsWith('gone') ? {code: 550, message: '5.1.1 <gone@example.org>: user unknown'} : address.startsWith('busy') ? {code: 452, message: '4.2.2 Mailbox full'} : undefined)},
	});
	await enqueue([{id: 'hard', to: ['gone@example.org']}, {id: 'soft', to: ['busy@example.org']}]);
	const hard = await waitStatus('hard', 'error');
	t.is(hard.error, '550 5.1.1 <gone@example.org>: user unknown (SMTP 550)');
	t.deepEqual(hard.history.map((h: {event_type: string}) => h.event_type), ['error']);
	const soft = await waitStatus('soft', 'error', 10_000);
	t.is(soft.error, 'Max retries (2) exceeded: 452 4.2.2 Mailbox full (SMTP 452)');
	t.deepEqual(soft.history.map((h: {event_type: string}) => h.event_type), ['deferred', 'deferred', 'error']);
	t.is(sink.attempts.get('busy@example.org'), 3, 'one attempt and two retries');
	t.is(sink.received.length, 0);
});

test('connection refused is temporary: the message is deferred, not failed', async t => {
	const closed = await freePort();
	const {enqueue, waitStatus} = await deliverySetup(t, {account: {port: closed}, retryDelays: [3600]});
	await enqueue([{id: 'nobody-home'}]);
	const deferred = await waitStatus('nobody-home', 'deferred');
	t.regex(deferred.history[0].description, /ECONNREFUSED|connect/i);
	t.is(deferred.history[0].metadata.kind, 'retry');
});

test('SMTP AUTH with the account credentials; a 535 rejection is permanent', async t => {
	const {enqueue, waitStatus, instance} = await deliverySetup(t, {sink: {auth: {user: 'billing', pass: 's3cret'}}, account: {user: 'billing', password: 's3cret'}});
	await enqueue([{id: 'authed'}]);
	await waitStatus('authed', 'sent');
	await instance.request('POST', '/account', {body: {id: 'smtp', tenant_id: 'acme', host: '127.0.0.1', port: (await instance.request('GET', '/accounts?tenant_id=acme')).body.accounts[0].port, tls_mode: 'none', user: 'billing', password: 'wrong'}});
	await enqueue([{id: 'refused'}]);
	const refused = await waitStatus('refused', 'error');
	t.regex(refused.error, /535/);
});

test('a per-minute limit sends N and defers the next to the minute boundary; the rest wait without events', async t => {
	const {enqueue, sink, instance, messages} = await deliverySetup(t, {account: {limit_per_minute: 3}});
	await roomInWindow(60);
	await instance.request('POST', '/commands/suspend?tenant_id=acme');
	await enqueue([1, 2, 3, 4, 5, 6].map(n => ({id: `m${n}`})));
	await instance.request('POST', '/commands/activate?tenant_id=acme');
	await sink.waitFor(3);
	const nextMinute = (Math.floor(Date.now() / 1000 / 60) + 1) * 60;
	const states = await waitFor(async () => {
		const all = await messages();
		// The third send's outcome may still be committing when the fourth message meets the limit.
		return all.some(m => m.status === 'deferred') && all.filter(m => m.status === 'sent').length >= 3 ? all : undefined;
	});
	await new Promise(resolve => setTimeout(resolve, 500));
	const sent = states.filter(m => m.status === 'sent');
	const deferred = (await messages()).filter(m => m.history.some((h: {event_type: string}) => h.event_type === 'deferred'));
	t.is(sent.length, 3);
	t.is(sink.received.length, 3, 'no more than the limit in this minute');
	t.is(deferred.length, 1, 'only the message that hit the limit gets a deferred event');
	t.is(deferred[0]!.deferred_ts, nextMinute);
	t.like(deferred[0]!.history.at(-1), {description: 'rate_limit_exceeded: account minute', metadata: {kind: 'rate_limit'}});
	const metrics = await (await fetch(`${instance.url}/metrics`)).text();
	t.regex(metrics, /gmp_rate_limited_total\{tenant_id="acme",tenant_name="ACME",account_id="smtp",account_name="smtp"\} 1/);
});

test('reject mode: messages over the limit end in error rate_limit_exceeded', async t => {
	const {enqueue, sink, messages} = await deliverySetup(t, {account: {limit_per_hour: 2, limit_behavior: 'reject'}});
	await roomInWindow(3600);
	await enqueue([1, 2, 3, 4].map(n => ({id: `r${n}`})));
	await waitFor(async () => (await messages()).every(m => m.status === 'sent' || m.status === 'error'));
	const all = await messages();
	t.is(all.filter(m => m.status === 'sent').length, 2);
	t.deepEqual(all.filter(m => m.status === 'error').map(m => m.error), ['rate_limit_exceeded', 'rate_limit_exceeded']);
	t.is(sink.received.length, 2);
});

test('a tenant hourly limit counts the sends of all its accounts', async t => {
	const {enqueue, sink, instance, messages} = await deliverySetup(t, {tenant: {rate_limits: {hourly: 3, daily: 0}}});
	await roomInWindow(3600);
	const port = (await instance.request('GET', '/accounts?tenant_id=acme')).body.accounts[0].port;
	await instance.request('POST', '/account', {body: {id: 'second', tenant_id: 'acme', host: '127.0.0.1', port, tls_mode: 'none'}});
	await instance.request('POST', '/commands/suspend?tenant_id=acme');
	await enqueue([...[1, 2, 3].map(n => ({id: `a${n}`})), ...[1, 2, 3].map(n => ({id: `b${n}`, account_id: 'second'}))]);
	await instance.request('POST', '/commands/activate?tenant_id=acme');
	await sink.waitFor(3);
	await waitFor(async () => (await messages()).some(m => m.status === 'deferred'));
	await new Promise(resolve => setTimeout(resolve, 500));
	t.is(sink.received.length, 3);
	const deferred = (await messages()).find(m => m.status === 'deferred')!;
	t.is(deferred.deferred_ts, (Math.floor(Date.now() / 1000 / 3600) + 1) * 3600, 'to the next hour');
	t.is(deferred.history.at(-1).description, 'rate_limit_exceeded: tenant hour');
});

test('failed sends consume no quota', async t => {
	let fail = 2;
	const {enqueue, sink, waitStatus} = await deliverySetup(t, {account: {limit_per_minute: 2}, sink: {recipient: () => (fail-- > 0 ? {code: 550, message: 'no'} : undefined)}});
	await enqueue([{id: 'x1'}, {id: 'x2'}]);
	await waitStatus('x1', 'error');
	await waitStatus('x2', 'error');
	await enqueue([{id: 'y1'}, {id: 'y2'}]);
	await waitStatus('y1', 'sent');
	await waitStatus('y2', 'sent');
	t.is(sink.received.length, 2);
});

test('metrics: counters per tenant and account, pending gauge, process metrics', async t => {
	const {enqueue, waitStatus, instance} = await deliverySetup(t, {sink: {recipient: address => (address.startsWith('bad') ? {code: 550, message: 'no'} : undefined)}});
	await enqueue([{id: 'ok'}, {id: 'ko', to: ['bad@example.org']}]);
	await waitStatus('ok', 'sent');
	await waitStatus('ko', 'error');
	const response = await fetch(`${instance.url}/metrics`);
	t.regex(response.headers.get('content-type') ?? '', /text\/plain/);
	const text = await response.text();
	t.regex(text, /# HELP gmp_sent_total Total sent emails/);
	t.regex(text, /gmp_sent_total\{tenant_id="acme",tenant_name="ACME",account_id="smtp",account_name="smtp"\} 1/);
	t.regex(text, /gmp_errors_total\{tenant_id="acme",tenant_name="ACME",account_id="smtp",account_name="smtp"\} 1/);
	t.regex(text, /gmp_sent_total\{tenant_id="default",tenant_name="default",account_id="default",account_name="default"\} 0/);
	t.regex(text, /gmp_pending_messages 0/);
	t.regex(text, /process_resident_memory_bytes/);
	t.notRegex(text, /_created/);
	await instance.request('DELETE', '/account/smtp?tenant_id=acme');
	await waitFor(async () => !(await (await fetch(`${instance.url}/metrics`)).text()).includes('account_id="smtp"'), {what: 'the series of the deleted account to go'});
	t.pass();
});
