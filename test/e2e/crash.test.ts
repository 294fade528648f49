import test from 'ava';
import {deliverySetup} from '../helpers/delivery.js';
import {waitFor} from '../helpers/home.js';
import {headersOf} from '../helpers/smtp-sink.js';

test('kill -9 of the worker in the middle of 2,000 messages: every message arrives, duplicates at most what was in flight', async t => {
	const {instance, enqueue, sink} = await deliverySetup(t, {sink: {dataDelayMs: 3}});
	const port = sink.port;
	// Four accounts: up to 10 sends at once (3 per account, 10 per daemon), and at most 20 sends whose
	// outcome is not yet on disk: the most a crash can make the next worker repeat.
	for (const id of ['smtp2', 'smtp3', 'smtp4']) {
		await instance.request('POST', '/account', {body: {id, tenant_id: 'acme', host: '127.0.0.1', port, tls_mode: 'none'}});
	}

	const accounts = ['smtp', 'smtp2', 'smtp3', 'smtp4'];
	for (let batch = 0; batch < 2; batch++) {
		await enqueue(Array.from({length: 1000}, (_, index) => ({id: `c-${batch}-${index}`, account_id: accounts[index % 4]})));
	}

	await waitFor(() => sink.received.length >= 400, {timeoutMs: 30_000, what: 'the first messages'});
	const worker = instance.workerPid();
	process.kill(worker, 'SIGKILL');
	const killedAt = sink.received.length;
	t.log(`killed the worker after ${killedAt} deliveries`);
	await waitFor(() => instance.workerPid() !== worker, {what: 'the restarted worker'});
	await waitFor(() => new Set(sink.received.map(message => headersOf(message.raw).get('x-genro-mail-id')![0])).size === 2000, {timeoutMs: 60_000, what: 'all 2000 messages at the sink'});
	const ids = sink.received.map(message => headersOf(message.raw).get('x-genro-mail-id')![0]);
	const duplicates = ids.length - new Set(ids).size;
	t.log(`${ids.length} deliveries for 2000 messages: ${duplicates} duplicate(s)`);
	t.true(duplicates <= 20, `at most the 20 sends that can be unconfirmed were repeated (${duplicates})`);
	await waitFor(async () => (await instance.request('GET', '/messages?tenant_id=acme&active_only=true')).body.messages.length === 0, {what: 'an empty queue'});
	const stats = JSON.parse((await instance.cli([instance.name, 'stats', '--json'])).stdout);
	t.is(stats.messages.sent, 2000);
	t.true(instance.workerPid() !== worker);
});
