import fs from 'node:fs';
import test from 'ava';
import {deliverySetup, type Delivery} from '../helpers/delivery.js';
import {startDovecot, type Dovecot} from '../helpers/dovecot.js';
import {waitFor} from '../helpers/home.js';
import {deliveryStatusNotice, headersOf, pecReceipt} from '../helpers/notices.js';
import {httpReceiver, type Receiver, type Recorded} from '../helpers/receiver.js';
import {query} from '../helpers/db.js';

type Item = Record<string, any>;
const itemsOf = (request: Recorded): Item[] => JSON.parse(request.body.toString()).delivery_report;
const reported = (receiver: Receiver) => receiver.requests.flatMap(itemsOf);
const eventsOf = (delivery: Delivery, type: string) => query<{message_pk: string; metadata: string}>(delivery.instance.paths, 'SELECT message_pk, metadata FROM message_events WHERE event_type = ? ORDER BY id', type);

const POLL_SECONDS = 1;

async function bounceSetup(t: Parameters<typeof startDovecot>[0]): Promise<{dovecot: Dovecot; receiver: Receiver; delivery: Delivery}> {
	const dovecot = await startDovecot(t, {bounces: 'bounce-secret'});
	const receiver = await httpReceiver(t);
	const delivery = await deliverySetup(t, {
		tenant: {client_base_url: receiver.url},
		env: {
			GMP_BOUNCE_IMAP_HOST: '127.0.0.1',
			GMP_BOUNCE_IMAP_PORT: String(dovecot.port),
			GMP_BOUNCE_IMAP_USER: 'bounces',
			GMP_BOUNCE_IMAP_PASSWORD: 'bounce-secret',
			GMP_BOUNCE_IMAP_SSL: 'false',
			GMP_BOUNCE_POLL_INTERVAL: String(POLL_SECONDS),
		},
	});
	return {dovecot, receiver, delivery};
}

async function sentHeaders(delivery: Delivery, id: string): Promise<string> {
	const message = await delivery.waitStatus(id, 'sent');
	const received = await waitFor(() => delivery.sink.received.find(item => item.raw.toString().includes(message['pk'])), {what: `${id} at the sink`});
	return headersOf(received.raw);
}

test('a hard bounce for a sent message reaches the application and marks it bounced; a soft one does not', async t => {
	const {dovecot, receiver, delivery} = await bounceSetup(t);
	const settings = (await delivery.instance.request('GET', '/instance')).body;
	t.like(settings, {bounce_enabled: true, bounce_imap_host: '127.0.0.1', bounce_imap_port: dovecot.port, bounce_imap_ssl: false, bounce_poll_interval: POLL_SECONDS});
	t.false('bounce_imap_password' in settings, 'the IMAP password is never returned');

	await delivery.enqueue([{id: 'inv-1', to: ['gone@example.org']}, {id: 'inv-2', to: ['full@example.org']}]);
	const first = await sentHeaders(delivery, 'inv-1');
	const second = await sentHeaders(delivery, 'inv-2');
	await receiver.waitFor(requests => requests.flatMap(itemsOf).filter(item => item['sent_ts']).length === 2);

	const appendedAt = Date.now();
	await dovecot.append('bounces', deliveryStatusNotice(first, {recipient: 'gone@example.org', status: '5.1.1', diagnostic: '550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown in virtual mailbox table', messageId: false}));
	await dovecot.append('bounces', deliveryStatusNotice(second, {recipient: 'full@example.org', status: '5.2.2', diagnostic: '552 5.2.2 <full@example.org>: Mailbox full, quota exceeded'}));
	const hasHard = (request: Recorded) => itemsOf(request).some(entry => entry['id'] === 'inv-1' && entry['bounce_ts']);
	await receiver.waitFor(requests => requests.some(hasHard), 10_000);
	const request = receiver.requests.find(hasHard)!;
	const latency = request.at - appendedAt;
	t.log(`hard bounce reported ${latency} ms after it reached the mailbox (poll interval ${POLL_SECONDS * 1000} ms)`);

	await receiver.waitFor(requests => requests.flatMap(itemsOf).some(item => item['id'] === 'inv-2' && item['bounce_ts']));
	const items = reported(receiver).filter(item => item['bounce_ts']);
	t.like(items.find(item => item['id'] === 'inv-1'), {tenant_id: 'acme', bounce_type: 'hard', bounce_code: '511', bounce_category: 'userunknown', bounce_recipient: 'gone@example.org'});
	t.regex(items.find(item => item['id'] === 'inv-1')!['bounce_reason'], /User unknown/);
	t.like(items.find(item => item['id'] === 'inv-2'), {bounce_type: 'soft', bounce_code: '522', bounce_category: 'mailboxfull', bounce_recipient: 'full@example.org'});

	const hard = await delivery.message('inv-1');
	t.like(hard, {status: 'bounced', bounce_type: 'hard', bounce_code: '511', bounce_category: 'userunknown'});
	t.is(typeof hard['bounce_ts'], 'number');
	t.is(typeof hard['sent_ts'], 'number', 'a bounced message keeps its send time');
	t.like(await delivery.message('inv-2'), {status: 'sent', bounce_type: 'soft', bounce_category: 'mailboxfull'});
	const bounced = await delivery.instance.request('GET', '/messages?tenant_id=acme&status=bounced');
	t.deepEqual(bounced.body.messages.map((message: Item) => message['id']), ['inv-1']);

	const table = await delivery.instance.cli([delivery.instance.name, 'acme', 'messages', 'list']);
	t.regex(table.stdout, /inv-1\s.*bounced/);
	const json = JSON.parse((await delivery.instance.cli([delivery.instance.name, 'acme', 'messages', 'list', '--status', 'bounced', '--json'])).stdout);
	t.deepEqual(json.map((message: Item) => message['id']), ['inv-1']);
});

test('restarting the daemon reads nothing twice; the same notice delivered twice is recorded once', async t => {
	const {dovecot, receiver, delivery} = await bounceSetup(t);
	const {instance} = delivery;
	await delivery.enqueue([{id: 'a', to: ['gone@example.org']}, {id: 'b', to: ['nobody@example.org']}]);
	const a = await sentHeaders(delivery, 'a');
	const b = await sentHeaders(delivery, 'b');
	// Without a Message-ID of its own: only the stored mailbox position keeps it from being read again.
	await dovecot.append('bounces', deliveryStatusNotice(a, {recipient: 'gone@example.org', status: '5.1.1', diagnostic: '550 5.1.1 user unknown', messageId: false}));
	await waitFor(() => eventsOf(delivery, 'bounce').length === 1, {what: 'the first bounce'});
	const state = (await instance.request('GET', '/instance')).body;
	t.is(state.bounce_last_uid, 1);
	t.is(typeof state.bounce_uidvalidity, 'number');
	t.regex(state.bounce_last_sync, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);

	t.is((await instance.cli(['stop', instance.name])).exitCode, 0);
	t.is((await instance.cli(['start', instance.name])).exitCode, 0);
	const notice = deliveryStatusNotice(b, {recipient: 'nobody@example.org', status: '5.1.1', diagnostic: '550 5.1.1 no such user', messageId: '<dsn-twice@mx.example.org>'});
	await dovecot.append('bounces', notice);
	await dovecot.append('bounces', notice);
	await waitFor(async () => (await instance.request('GET', '/instance')).body.bounce_last_uid === 3, {what: 'both copies read'});
	const events = eventsOf(delivery, 'bounce');
	t.is(events.length, 2, 'one event per bounced message: no duplicate after the restart, none for the repeated notice');
	const pks = new Map((await delivery.messages()).map(message => [message['pk'], message['id']]));
	t.deepEqual(events.map(event => pks.get(event.message_pk)), ['a', 'b']);
	await receiver.waitFor(requests => requests.flatMap(itemsOf).filter(item => item['bounce_ts']).length === 2);
	await new Promise(resolve => setTimeout(resolve, 1500));
	t.is(reported(receiver).filter(item => item['bounce_ts']).length, 2, 'each bounce reported once');
});

test('IMAP down: delivery continues, the bounce loop logs, backs off and recovers when the server is back', async t => {
	const {dovecot, delivery} = await bounceSetup(t);
	const {instance} = delivery;
	dovecot.stop();
	await delivery.enqueue([{id: 'during-outage', to: ['gone@example.org']}]);
	const headers = await sentHeaders(delivery, 'during-outage');
	const log = () => fs.readFileSync(instance.paths.log, 'utf8');
	await waitFor(() => /bounce mailbox poll failed \(attempt 2\)/.test(log()), {what: 'failed polls in the log', timeoutMs: 15_000});

	await dovecot.start();
	await dovecot.append('bounces', deliveryStatusNotice(headers, {recipient: 'gone@example.org', status: '5.1.1', diagnostic: '550 5.1.1 user unknown'}));
	await delivery.waitStatus('during-outage', 'bounced', 20_000);
	t.regex(log(), /bounce mailbox poll: working again after \d+ failed attempt/);
	t.is(eventsOf(delivery, 'bounce').length, 1);
});

test('auto-replies, complaints and notices about unknown messages create no events, and the mailbox is never modified', async t => {
	const {dovecot, delivery} = await bounceSetup(t);
	await delivery.enqueue([{id: 'x', to: ['ann@example.org']}]);
	await sentHeaders(delivery, 'x');
	await dovecot.append('bounces', 'From: ann@example.org\r\nTo: billing@acme.example\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n');
	await dovecot.append('bounces', deliveryStatusNotice('From: someone@else.example\r\nMessage-ID: <foreign@else.example>\r\nSubject: not ours', {recipient: 'z@example.org', status: '5.1.1', diagnostic: '550 user unknown'}));
	await waitFor(async () => (await delivery.instance.request('GET', '/instance')).body.bounce_last_uid === 2, {what: 'both read'});
	t.is(eventsOf(delivery, 'bounce').length, 0);
	t.like(await delivery.message('x'), {status: 'sent'});
	const unseen = fs.readdirSync(`${dovecot.dir}/mail/bounces/new`).length + fs.readdirSync(`${dovecot.dir}/mail/bounces/cur`).filter(name => !/:2,.*S/.test(name)).length;
	t.is(unseen, 2, 'read with BODY.PEEK: nothing flagged as seen, nothing deleted');
});

test('PEC receipts of each kind become pec_* events; without an acceptance the timeout fires and the message becomes normal mail', async t => {
	const dovecot = await startDovecot(t, {pec: 'pec-secret'});
	const receiver = await httpReceiver(t);
	const delivery = await deliverySetup(t, {
		tenant: {client_base_url: receiver.url},
		account: {is_pec_account: true, imap_host: '127.0.0.1', imap_port: dovecot.port, imap_user: 'pec', imap_password: 'pec-secret', imap_ssl: false},
		env: {GMP_PEC_POLL_INTERVAL: '0.3', GMP_PEC_ACCEPTANCE_TIMEOUT: '15'},
	});
	await delivery.enqueue([
		{id: 'pec-ok', to: ['mario@pec.example.it']},
		{id: 'pec-fail', to: ['luigi@pec.example.it']},
		{id: 'pec-relay', to: ['anna@pec.example.it']},
		{id: 'pec-silent', to: ['nessuno@pec.example.it']},
	]);
	const messageId = async (id: string) => /^Message-ID:\s*(<[^>]+>)/im.exec(await sentHeaders(delivery, id))![1]!;
	const ok = await messageId('pec-ok');
	const fail = await messageId('pec-fail');
	const relay = await messageId('pec-relay');
	await messageId('pec-silent');
	t.true((await delivery.message('pec-silent'))['is_pec']);

	await dovecot.append('pec', pecReceipt({kind: 'accettazione', subject: 'ACCETTAZIONE: Hello', originalMessageId: ok, recipient: 'mario@pec.example.it'}));
	await dovecot.append('pec', pecReceipt({kind: 'avvenuta-consegna', subject: 'POSTA CERTIFICATA: AVVENUTA CONSEGNA: Hello', originalMessageId: ok, recipient: 'mario@pec.example.it'}));
	await dovecot.append('pec', pecReceipt({kind: 'accettazione', subject: 'ACCETTAZIONE: Hello', originalMessageId: fail, recipient: 'luigi@pec.example.it'}));
	await dovecot.append('pec', pecReceipt({kind: 'mancata-consegna', subject: 'AVVISO DI MANCATA CONSEGNA: Hello', originalMessageId: fail, recipient: 'luigi@pec.example.it', error: 'casella piena'}));
	// Subject only: "PRESA IN CARICO:" and "ACCETTAZIONE:" without X-Ricevuta.
	await dovecot.append('pec', pecReceipt({kind: 'accettazione', subject: 'ACCETTAZIONE: Hello', originalMessageId: relay, recipient: 'anna@pec.example.it', header: false}));
	await dovecot.append('pec', pecReceipt({kind: 'presa-in-carico', subject: 'PRESA IN CARICO: Hello', originalMessageId: relay, recipient: 'anna@pec.example.it', header: false}));

	const pecItems = () => reported(receiver).filter(item => item['pec_event']);
	await receiver.waitFor(() => pecItems().length >= 7, 45_000);
	const byMessage = (id: string) => pecItems().filter(item => item['id'] === id).map(item => item['pec_event']);
	t.deepEqual(byMessage('pec-ok'), ['pec_acceptance', 'pec_delivery']);
	t.deepEqual(byMessage('pec-fail'), ['pec_acceptance', 'pec_error']);
	t.deepEqual(byMessage('pec-relay'), ['pec_acceptance', 'pec_relay']);
	t.deepEqual(byMessage('pec-silent'), ['pec_timeout']);
	t.like(pecItems().find(item => item['pec_event'] === 'pec_timeout'), {pec_details: 'PEC acceptance timeout - message treated as normal email'});
	t.like(pecItems().find(item => item['pec_event'] === 'pec_delivery'), {pec_details: 'PEC avvenuta-consegna'});

	const error = eventsOf(delivery, 'pec_error').map(event => JSON.parse(event.metadata));
	t.like(error[0], {recipient: 'luigi@pec.example.it', error_reason: 'casella piena'});
	t.false((await delivery.message('pec-fail'))['is_pec'], 'a failed PEC message is normal mail from then on');
	t.false((await delivery.message('pec-silent'))['is_pec']);
	t.true((await delivery.message('pec-ok'))['is_pec']);
	t.true((await delivery.message('pec-relay'))['is_pec']);
	const history = (await delivery.message('pec-ok'))['history'].map((event: Item) => event['event_type']);
	t.deepEqual(history, ['sent', 'pec_acceptance', 'pec_delivery']);
	t.is(pecItems().length, 7, 'no timeout for messages that were accepted');
});

test('PUT /instance then reload-bounce starts reading the mailbox; enabled without a host is refused', async t => {
	const dovecot = await startDovecot(t, {bounces: 'bounce-secret'});
	const delivery = await deliverySetup(t);
	const {instance} = delivery;
	const halfDone = await instance.request('PUT', '/instance', {body: {bounce_enabled: true}});
	t.is(halfDone.status, 200);
	const refused = await instance.request('POST', '/instance/reload-bounce');
	t.is(refused.status, 400);
	t.deepEqual(refused.body, {detail: 'Bounce enabled but imap_host not configured'});

	await delivery.enqueue([{id: 'late', to: ['gone@example.org']}]);
	const headers = await sentHeaders(delivery, 'late');
	await dovecot.append('bounces', deliveryStatusNotice(headers, {recipient: 'gone@example.org', status: '5.1.1', diagnostic: '550 5.1.1 user unknown'}));
	const put = await instance.request('PUT', '/instance', {body: {bounce_imap_host: '127.0.0.1', bounce_imap_port: dovecot.port, bounce_imap_ssl: false, bounce_imap_user: 'bounces', bounce_imap_password: 'bounce-secret', bounce_poll_interval: 10}});
	t.is(put.status, 200);
	await new Promise(resolve => setTimeout(resolve, 1500));
	t.is((await delivery.message('late'))['status'], 'sent', 'stored settings wait for reload-bounce');
	t.is((await instance.request('POST', '/instance/reload-bounce')).status, 200);
	const bounced = await delivery.waitStatus('late', 'bounced');
	t.like(bounced, {bounce_type: 'hard', bounce_code: '511', bounce_category: 'userunknown'});
	t.like((await instance.request('GET', '/instance')).body, {bounce_last_uid: 1});
});
