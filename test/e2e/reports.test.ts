import crypto from 'node:crypto';
import test from 'ava';
import {deliverySetup} from '../helpers/delivery.js';
import {waitFor} from '../helpers/home.js';
import {httpReceiver, type Answer, type Recorded} from '../helpers/receiver.js';

type Item = Record<string, any>;
const itemsOf = (request: Recorded): Item[] => JSON.parse(request.body.toString()).delivery_report;
const FAST = {GMP_REPORT_BACKOFF_BASE: '0.2', GMP_REPORT_BACKOFF_MAX: '1.6'};

test('sent, error and deferred events reach the client as items; a 2xx acknowledges them; reports arrive within 1 s', async t => {
	const receiver = await httpReceiver(t);
	const {enqueue, sink, messages, instance} = await deliverySetup(t, {
		retryDelays: [3600],
		tenant: {client_base_url: `${receiver.url}/app/`, client_sync_path: '/hooks/sync', client_auth: {method: 'bearer', token: 'client-secret'}},
		sink: {recipient: address => (address.startsWith('gone') ? {code: 550, message: '5.1.1 user unknown'} : address.startsWith('grey') ? {code: 451, message: '4.7.1 later'} : undefined)},
	});
	await enqueue([{id: 'ok'}, {id: 'bad', to: ['gone@example.org']}, {id: 'grey', to: ['grey@example.org']}]);
	await sink.waitFor(1);
	const sentAt = sink.received[0]!.at;
	await receiver.waitFor(requests => requests.flatMap(itemsOf).length >= 3);
	const firstWithSent = receiver.requests.find(request => itemsOf(request).some(item => item['sent_ts']))!;
	t.log(`report reached the client ${firstWithSent.at - sentAt} ms after the send`);
	t.true(firstWithSent.at - sentAt < 1000, 'a sent message is reported within 1 s');

	const request = receiver.requests[0]!;
	t.is(request.url, '/app/hooks/sync');
	t.is(request.headers['authorization'], 'Bearer client-secret');
	t.regex(String(request.headers['user-agent']), /^mail-proxy\//);
	t.is(request.headers['content-type'], 'application/json');
	const items = receiver.requests.flatMap(itemsOf);
	const byId = new Map(items.map(item => [item['id'], item]));
	const all = await messages();
	const pk = (id: string) => all.find(message => message['id'] === id)!['pk'];
	t.like(byId.get('ok'), {tenant_id: 'acme', pk: pk('ok')});
	t.is(typeof byId.get('ok')!['sent_ts'], 'number');
	t.like(byId.get('bad'), {tenant_id: 'acme', error: '550 5.1.1 user unknown (SMTP 550)'});
	t.is(typeof byId.get('bad')!['error_ts'], 'number');
	t.like(byId.get('grey'), {deferred_reason: '451 4.7.1 later (SMTP 451)'});
	t.true(byId.get('grey')!['deferred_ts'] > Date.now() / 1000 + 3000);
	t.is(new Set(items.map(item => item['event_id'])).size, items.length, 'event ids are unique');

	await waitFor(async () => (await messages()).filter(message => message['reported_ts']).length === 3, {what: 'acknowledgements'});
	const status = await instance.request('GET', '/tenants/sync-status');
	t.like(status.body.tenants[0], {id: 'acme', pending_reports: 0, consecutive_failures: 0, in_dnd: false});
	t.is(typeof status.body.tenants[0].last_sync_ts, 'number');
});

test('a client failing for a while then recovering receives every event, acknowledged exactly once', async t => {
	let failing = true;
	const acknowledged: Item[] = [];
	const receiver = await httpReceiver(t, (request): Answer => {
		if (failing) {
			return {status: 500, body: 'boom'};
		}

		acknowledged.push(...itemsOf(request));
		return {status: 200, body: '{"ok":true}'};
	});
	const {enqueue, sink, instance} = await deliverySetup(t, {env: FAST, tenant: {client_base_url: receiver.url}});
	await enqueue(Array.from({length: 30}, (_, index) => ({id: `m${index}`})));
	await sink.waitFor(30);
	await receiver.waitFor(requests => requests.length >= 3);
	t.like((await instance.request('GET', '/tenants/sync-status')).body.tenants[0], {pending_reports: 30});
	failing = false;
	await waitFor(async () => (await instance.request('GET', '/tenants/sync-status')).body.tenants[0].pending_reports === 0, {what: 'recovery'});
	t.is(acknowledged.length, 30, 'every event acknowledged');
	t.is(new Set(acknowledged.map(item => item['event_id'])).size, 30, 'each exactly once');
	t.deepEqual(acknowledged.map(item => String(item['id'])).sort(), Array.from({length: 30}, (_, index) => `m${index}`).sort());
	const before = acknowledged.length;
	await instance.request('POST', '/commands/run-now');
	await new Promise(resolve => setTimeout(resolve, 500));
	t.is(acknowledged.length, before, 'nothing is sent again once acknowledged');
});

test('a client that keeps failing is retried with growing delays: 5 s doubling (here 0.2 s) up to the cap', async t => {
	const receiver = await httpReceiver(t, (): Answer => ({status: 503}));
	const {enqueue, instance} = await deliverySetup(t, {env: FAST, tenant: {client_base_url: receiver.url}});
	await enqueue([{id: 'x'}]);
	await receiver.waitFor(requests => requests.length >= 7, 20_000);
	const gaps = receiver.requests.slice(0, 7).map((request, index, all) => (index === 0 ? 0 : request.at - all[index - 1]!.at)).slice(1);
	t.log(`gaps between attempts (ms): ${gaps.join(', ')}`);
	const expected = [200, 400, 800, 1600, 1600];
	for (const [index, want] of expected.entries()) {
		t.true(gaps[index]! >= want - 50 && gaps[index]! < want + 700, `attempt ${index + 2}: ${gaps[index]} ms, expected about ${want}`);
	}

	const status = (await instance.request('GET', '/tenants/sync-status')).body.tenants[0];
	t.true(status.consecutive_failures >= 6);
	t.is(typeof status.retry_at, 'number');
	const metrics = await (await fetch(`${instance.url}/metrics`)).text();
	t.regex(metrics, /gmp_report_failures_total\{tenant_id="acme"\} \d+/);
});

test('one failing tenant does not delay another', async t => {
	const broken = await httpReceiver(t, (): Answer => ({status: 500, delayMs: 300}));
	const healthy = await httpReceiver(t);
	const {enqueue, instance, sink} = await deliverySetup(t, {env: FAST, tenant: {client_base_url: broken.url}});
	const port = (await instance.request('GET', '/accounts?tenant_id=acme')).body.accounts[0].port;
	await instance.request('POST', '/tenant', {body: {id: 'beta', client_base_url: healthy.url}});
	await instance.request('POST', '/account', {body: {id: 'smtp', tenant_id: 'beta', host: '127.0.0.1', port, tls_mode: 'none'}});
	await enqueue([{id: 'a1'}]);
	await broken.waitFor(requests => requests.length >= 2);
	await instance.request('POST', '/commands/add-messages', {body: {messages: [{id: 'b1', tenant_id: 'beta', account_id: 'smtp', from: 'x@beta.example', to: ['y@example.org'], subject: 's'}]}});
	await sink.waitFor(2);
	const sentAt = sink.received.at(-1)!.at;
	await healthy.waitFor(requests => requests.some(request => itemsOf(request).some(item => item['id'] === 'b1')));
	const reportedAt = healthy.requests.find(request => itemsOf(request).some(item => item['id'] === 'b1'))!.at;
	t.true(reportedAt - sentAt < 1000, `beta was reported ${reportedAt - sentAt} ms after its send`);
});

test('heartbeats to idle tenants; do-not-disturb suspends them until its end; events still go; run-now cancels it', async t => {
	let dndFor = 0;
	const receiver = await httpReceiver(t, (): Answer => {
		const body = dndFor > 0 ? {ok: true, next_sync_after: Date.now() / 1000 + dndFor} : {ok: true};
		dndFor = 0;
		return {status: 200, body: JSON.stringify(body)};
	});
	const {enqueue, instance} = await deliverySetup(t, {env: {GMP_SYNC_INTERVAL: '0.5'}, tenant: {client_base_url: receiver.url}});
	await receiver.waitFor(requests => requests.length >= 3, 5000);
	t.true(receiver.requests.slice(0, 3).every(request => itemsOf(request).length === 0), 'heartbeats are empty reports');
	const gap = receiver.requests[2]!.at - receiver.requests[1]!.at;
	t.true(gap >= 400 && gap < 1500, `heartbeat every interval (${gap} ms)`);

	dndFor = 3;
	const mark = receiver.requests.length;
	await receiver.waitFor(requests => requests.length > mark);
	const dndStart = Date.now();
	await new Promise(resolve => setTimeout(resolve, 1500));
	t.is(receiver.requests.length, mark + 1, 'no heartbeat during do-not-disturb');
	t.true((await instance.request('GET', '/tenants/sync-status')).body.tenants[0].in_dnd);
	await enqueue([{id: 'during-dnd'}]);
	await receiver.waitFor(requests => requests.some(request => itemsOf(request).some(item => item['id'] === 'during-dnd')));
	t.true(Date.now() - dndStart < 3000, 'events are pushed during do-not-disturb');

	dndFor = 60;
	const before = receiver.requests.length;
	await receiver.waitFor(requests => requests.length > before);
	await new Promise(resolve => setTimeout(resolve, 800));
	const quiet = receiver.requests.length;
	const key = (await instance.request('POST', '/tenant/acme/api-key')).body.api_key;
	await instance.request('POST', '/commands/run-now', {token: key});
	await receiver.waitFor(requests => requests.length > quiet, 3000);
	t.false((await instance.request('GET', '/tenants/sync-status')).body.tenants[0].in_dnd, 'a tenant run-now cancels do-not-disturb');
});

test('a reply with queued > 0 makes the tenant due again at once, until it answers queued: 0', async t => {
	let queued = 2;
	const receiver = await httpReceiver(t, (): Answer => ({status: 200, body: JSON.stringify({ok: true, queued: queued > 0 ? queued-- : 0})}));
	await deliverySetup(t, {tenant: {client_base_url: receiver.url}});
	await receiver.waitFor(requests => requests.length >= 3, 6000);
	const gaps = [receiver.requests[1]!.at - receiver.requests[0]!.at, receiver.requests[2]!.at - receiver.requests[1]!.at];
	t.true(gaps.every(gap => gap >= 900 && gap < 2500), `accelerated re-syncs about 1 s apart (${gaps.join(', ')} ms)`);
	await new Promise(resolve => setTimeout(resolve, 2000));
	t.is(receiver.requests.length, 3, 'back to normal (next heartbeat after the sync interval)');
});

test('signed callbacks: the signature verifies over the raw body; a tampered body does not', async t => {
	const secret = 'a-signing-secret-of-32-characters';
	const receiver = await httpReceiver(t);
	const {enqueue} = await deliverySetup(t, {tenant: {client_base_url: receiver.url, client_signing_secret: secret}});
	await enqueue([{id: 'signed'}]);
	await receiver.waitFor(requests => requests.some(request => itemsOf(request).length > 0));
	const request = receiver.requests.find(candidate => itemsOf(candidate).length > 0)!;
	const timestamp = String(request.headers['x-mail-proxy-timestamp']);
	const signature = String(request.headers['x-mail-proxy-signature']);
	t.true(Math.abs(Number(timestamp) - Date.now() / 1000) < 30);
	// What a client does (README): recompute over "<timestamp>.<raw body>" and compare in constant time.
	const verify = (body: Buffer) => {
		const expected = Buffer.from(`sha256=${crypto.createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`);
		const given = Buffer.from(signature);
		return given.length === expected.length && crypto.timingSafeEqual(given, expected);
	};

	t.true(verify(request.body));
	const tampered = Buffer.from(request.body.toString().replace('"signed"', '"forged"'));
	t.false(verify(tampered));
});

test('events survive a daemon restart while the client is down, and are all reported when it returns', async t => {
	let up = false;
	const receiver = await httpReceiver(t, (): Answer => (up ? {status: 200, body: '{"ok":true}'} : {status: 502}));
	const {enqueue, sink, instance} = await deliverySetup(t, {env: FAST, tenant: {client_base_url: receiver.url}});
	await enqueue([{id: 'r1'}, {id: 'r2'}]);
	await sink.waitFor(2);
	await receiver.waitFor(requests => requests.length >= 2);
	t.is((await instance.cli(['restart', instance.name])).exitCode, 0);
	const failures = (await instance.request('GET', '/tenants/sync-status')).body.tenants[0].consecutive_failures;
	t.true(failures >= 2, 'the backoff state survived the restart');
	up = true;
	await waitFor(async () => (await instance.request('GET', '/tenants/sync-status')).body.tenants[0].pending_reports === 0, {timeoutMs: 10_000, what: 'the reports'});
	const reported = receiver.requests.filter(request => request.at > 0).flatMap(itemsOf).map(item => item['id']);
	t.true(reported.includes('r1') && reported.includes('r2'));
});

test('retention purges reported messages after the retention period, never unreported ones', async t => {
	const receiver = await httpReceiver(t);
	const failing = await httpReceiver(t, (): Answer => ({status: 500}));
	const {enqueue, instance, messages} = await deliverySetup(t, {
		env: {GMP_TEST_MODE: 'true', GMP_DELIVERY_REPORT_RETENTION_SECONDS: '1'},
		tenant: {client_base_url: receiver.url},
	});
	const port = (await instance.request('GET', '/accounts?tenant_id=acme')).body.accounts[0].port;
	await instance.request('POST', '/tenant', {body: {id: 'beta', client_base_url: failing.url}});
	await instance.request('POST', '/account', {body: {id: 'smtp', tenant_id: 'beta', host: '127.0.0.1', port, tls_mode: 'none'}});
	await enqueue([{id: 'kept-pending', deferred_ts: Math.floor(Date.now() / 1000) + 3600}, {id: 'reported'}]);
	await instance.request('POST', '/commands/add-messages', {body: {messages: [{id: 'unreported', tenant_id: 'beta', account_id: 'smtp', from: 'x@beta.example', to: ['y@example.org'], subject: 's'}]}});
	const runNow = async () => {
		await instance.request('POST', '/commands/run-now');
		await new Promise(resolve => setTimeout(resolve, 700));
	};

	await runNow();
	await runNow();
	await waitFor(async () => (await messages()).find(message => message['id'] === 'reported')?.['reported_ts'], {what: 'the acknowledgement'});
	await new Promise(resolve => setTimeout(resolve, 2200));
	await runNow();
	t.deepEqual((await messages()).map(message => message['id']), ['kept-pending'], 'the reported message is purged, the pending one is not');
	const beta = (await instance.request('GET', '/messages?tenant_id=beta')).body.messages;
	t.deepEqual(beta.map((message: {id: string; status: string}) => [message.id, message.status]), [['unreported', 'sent']], 'never acknowledged: kept');
});
