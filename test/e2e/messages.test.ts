import test from 'ava';
import Database from 'better-sqlite3';
import {startInstance, type Instance} from '../helpers/daemon.js';
import {query, snapshot} from '../helpers/db.js';
import {waitFor} from '../helpers/home.js';

const TEST_MODE = {GMP_TEST_MODE: 'true'};

async function seed(t: Parameters<typeof startInstance>[0], env: Record<string, string> = TEST_MODE): Promise<{instance: Instance; keyA: string; keyB: string}> {
	const instance = await startInstance(t, {env});
	const a = await instance.request('POST', '/tenant', {body: {id: 'A', name: 'Tenant A'}});
	const b = await instance.request('POST', '/tenant', {body: {id: 'B'}});
	await instance.request('POST', '/account', {body: {id: 'smtp', tenant_id: 'A', host: '127.0.0.1', port: 2525}});
	await instance.request('POST', '/account', {body: {id: 'smtp', tenant_id: 'B', host: '127.0.0.1', port: 2525}});
	return {instance, keyA: a.body.api_key, keyB: b.body.api_key};
}

const base = {tenant_id: 'A', account_id: 'smtp', from: 'Billing <billing@acme.example>', to: ['ann@example.org'], subject: 'Hello'};

async function enqueue(instance: Instance, messages: unknown[], extra: Record<string, unknown> = {}, token?: string) {
	return instance.request('POST', '/commands/add-messages', {body: {messages, ...extra}, token});
}

async function list(instance: Instance, query = 'tenant_id=A') {
	return (await instance.request('GET', `/messages?${query}`)).body.messages as Array<Record<string, any>>;
}

test('every per-message rule rejects with its exact reason while the valid messages are queued', async t => {
	const {instance} = await seed(t);
	const cases: Array<[Record<string, unknown>, string]> = [
		[{id: ''}, 'missing id'],
		[{tenant_id: ''}, 'missing tenant_id'],
		[{tenant_id: undefined}, 'missing tenant_id'],
		[{account_id: ''}, 'missing account_id'],
		[{from: ''}, 'missing from'],
		[{to: []}, 'missing to'],
		[{to: ['', ' ']}, 'missing to'],
		[{to: ''}, 'missing to'],
		[{subject: '   '}, 'missing subject'],
		[{account_id: 'nope'}, 'account not found for tenant'],
		[{to: ['ann@example.org\r\nBcc: x@evil.example']}, 'invalid header value in to'],
		[{cc: 'x@y.example\n'}, 'invalid header value in cc'],
		[{bcc: ['a@b.example\r']}, 'invalid header value in bcc'],
		[{from: 'a@b.example\nX: y'}, 'invalid header value in from'],
		[{reply_to: 'r@x.example\r\n'}, 'invalid header value in reply_to'],
		[{return_path: 'r@x.example\n'}, 'invalid header value in return_path'],
		[{subject: 'Hi\r\nBcc: victim@example.org'}, 'invalid header value in subject'],
		[{message_id: '<a@b>\r\nX: 1'}, 'invalid header value in message_id'],
		[{headers: {'X-Campaign': 'spring\r\nBcc: x@y.z'}}, 'invalid header value in headers.X-Campaign'],
		[{attachments: [{filename: 'a\r\n.pdf', storage_path: 'base64:QQ=='}]}, 'invalid header value in attachments[0].filename'],
		[{to: ['bad@']}, 'invalid address in to: bad@'],
		[{to: 'ok@example.org, not-an-address'}, 'invalid address in to: not-an-address'],
		[{cc: ['@example.org']}, 'invalid address in cc: @example.org'],
		[{bcc: 'x@@y'}, 'invalid address in bcc: x@@y'],
		[{from: 'nobody'}, 'invalid address in from: nobody'],
		[{reply_to: 'reply'}, 'invalid address in reply_to: reply'],
		[{return_path: 'bounce@'}, 'invalid address in return_path: bounce@'],
		[{headers: {Bcc: 'x@y.example'}}, 'header not allowed: Bcc'],
		[{headers: {'return-path': 'x@y.example'}}, 'header not allowed: return-path'],
		[{headers: {'X-Genro-Mail-ID': 'spoof'}}, 'header not allowed: X-Genro-Mail-ID'],
		[{headers: {'Content-Type': 'text/html'}}, 'header not allowed: Content-Type'],
		[{headers: {'Bad Name': 'x'}}, 'header not allowed: Bad Name'],
		[{headers: {'X:Y': 'x'}}, 'header not allowed: X:Y'],
		[{headers: {'X-Object': {a: 1}}}, 'invalid header value in headers.X-Object'],
		[{headers: {'X-List': [1, 2]}}, 'invalid header value in headers.X-List'],
	];
	const messages = [
		{...base, id: 'good-1', headers: {'X-Campaign': 'spring', 'X-Count': 3, 'X-Flag': true, 'X-Skip': null}},
		...cases.map(([override], index) => ({...base, id: `bad-${index}`, ...override})),
		{...base, id: 'good-2', to: '"Doe, John" <john@example.org>, ann@example.org', cc: 'c@example.org', bcc: ['hidden@example.org']},
	];
	const response = await enqueue(instance, messages);
	t.is(response.status, 200);
	t.is(response.body.queued, 2);
	t.true(response.body.ok);
	const reasons = new Map(response.body.rejected.map((r: {id: string; reason: string}) => [r.id, r.reason]));
	cases.forEach(([override, reason], index) => {
		const id = override['id'] === '' ? '' : `bad-${index}`;
		t.is(reasons.get(id), reason, JSON.stringify(override));
	});

	const stored = await list(instance);
	const good2 = stored.find(m => m.id === 'good-2')!;
	t.deepEqual(good2.message.to, ['"Doe, John" <john@example.org>', 'ann@example.org'], 'a comma string is split, quoted commas respected');
	t.deepEqual(good2.message.cc, ['c@example.org']);
	t.deepEqual(stored.find(m => m.id === 'good-1')!.message.headers, {'X-Campaign': 'spring', 'X-Count': 3, 'X-Flag': true}, 'null values are dropped (skipped when sent)');
});

test('rejected messages with an id are stored as errors; nothing accepted and not all "already sent" is 400', async t => {
	const {instance} = await seed(t);
	await enqueue(instance, [{...base, id: 'm1'}]);
	const response = await enqueue(instance, [{...base, id: 'm1', account_id: 'nope'}, {...base, id: 'm2', to: 'bad@'}]);
	t.is(response.status, 400);
	t.deepEqual(response.body, {detail: {error: null, rejected: [{id: 'm1', reason: 'account not found for tenant'}, {id: 'm2', reason: 'invalid address in to: bad@'}]}});
	const stored = await list(instance, 'tenant_id=A&include_history=true');
	t.deepEqual(stored.map(m => [m.id, m.status, m.error]), [['m1', 'error', 'account not found for tenant'], ['m2', 'error', 'invalid address in to: bad@']]);
	t.is(stored[0]!.history[0].event_type, 'error', 'an error event will reach the client through the report');

	// A processed message is never touched again: re-posting it is "already sent", which is not a failure.
	const again = await enqueue(instance, [{...base, id: 'm1'}]);
	t.is(again.status, 200);
	t.deepEqual(again.body, {ok: true, queued: 0, rejected: [{id: 'm1', reason: 'already sent'}]});
	t.is((await list(instance))[0]!.status, 'error');

	const log = await instance.request('GET', '/command-log?endpoint_filter=addMessages');
	t.deepEqual(log.body.commands.map((c: {response_status: number; tenant_id: string}) => [c.response_status, c.tenant_id]), [[200, 'A'], [400, 'A'], [200, 'A']]);
});

test('schema violations reject the whole request with 422 and store nothing; more than 1000 is 400', async t => {
	const {instance} = await seed(t);
	const before = snapshot(instance.paths);
	const cases: Array<[unknown, Array<string | number>]> = [
		[{messages: [{...base, id: 'x', subject: ''}]}, ['body', 'messages', 0, 'subject']],
		[{messages: [{...base, id: 'x'}, {...base, id: 'y', subject: 42}]}, ['body', 'messages', 1, 'subject']],
		[{messages: [{...base, id: 'x', attachments: [{filename: 'a.pdf', storage_path: 'x', color: 'red'}]}]}, ['body', 'messages', 0, 'attachments', 0, 'color']],
		[{messages: [{...base, id: 'x', attachments: [{filename: 'a.pdf', storage_path: 'x', fetch_mode: 'ftp'}]}]}, ['body', 'messages', 0, 'attachments', 0, 'fetch_mode']],
		[{messages: [{...base, id: 'x', priority: 'urgent'}]}, ['body', 'messages', 0, 'priority']],
		[{messages: [{...base, id: 'x', batch_code: 'b'.repeat(65)}]}, ['body', 'messages', 0, 'batch_code']],
		[{messages: [{...base, id: 'x', deferred_ts: 'tomorrow'}]}, ['body', 'messages', 0, 'deferred_ts']],
		[{messages: [{...base, id: 'x', to: 5}]}, ['body', 'messages', 0, 'to']],
		[{messages: 'all of them'}, ['body', 'messages']],
		[{}, ['body', 'messages']],
		[{messages: [{...base, id: 'x'}], default_priority: 'asap'}, ['body', 'default_priority']],
	];
	for (const [body, loc] of cases) {
		const response = await instance.request('POST', '/commands/add-messages', {body});
		t.is(response.status, 422, JSON.stringify(body).slice(0, 80));
		t.deepEqual(response.body.detail[0].loc, loc);
	}

	const malformed = await instance.request('POST', '/commands/add-messages', {body: '{"messages": [{'});
	t.is(malformed.status, 422);
	t.is(snapshot(instance.paths), before, 'nothing stored by any of them');

	const tooMany = await enqueue(instance, Array.from({length: 1001}, (_, index) => ({...base, id: `m${index}`})));
	t.is(tooMany.status, 400);
	t.deepEqual(tooMany.body, {detail: {error: 'Cannot enqueue more than 1000 messages at once', rejected: null}});
	t.deepEqual(await list(instance), []);
	const exactly = await enqueue(instance, Array.from({length: 1000}, (_, index) => ({...base, id: `m${index}`})));
	t.is(exactly.body.queued, 1000);
});

test('an oversized add-messages body is 413 and stores nothing', async t => {
	const {instance} = await seed(t, {...TEST_MODE, GMP_MAX_BODY_MB: '0.05'});
	const before = snapshot(instance.paths);
	const response = await enqueue(instance, [{...base, id: 'big', body: 'x'.repeat(60_000)}]);
	t.is(response.status, 413);
	t.is(snapshot(instance.paths), before);
});

test('re-posting an unprocessed id replaces it in place: same pk, same queue position, new content', async t => {
	const {instance} = await seed(t);
	await enqueue(instance, [{...base, id: 'first'}, {...base, id: 'second'}, {...base, id: 'third'}]);
	const before = await list(instance);
	await new Promise(resolve => setTimeout(resolve, 1100));
	const response = await enqueue(instance, [{...base, id: 'first', subject: 'Changed', batch_code: 'b1', deferred_ts: 4_000_000_000}]);
	t.deepEqual(response.body, {ok: true, queued: 1, rejected: []});
	const after = await list(instance);
	t.deepEqual(after.map(m => m.id), ['first', 'second', 'third'], 'queue position kept');
	t.is(after[0]!.pk, before[0]!.pk);
	t.is(after[0]!.created_at, before[0]!.created_at);
	t.not(after[0]!.updated_at, before[0]!.updated_at);
	t.like(after[0], {batch_code: 'b1', deferred_ts: 4_000_000_000, status: 'deferred', message: {subject: 'Changed'}});

	const duplicates = await enqueue(instance, [{...base, id: 'dup', subject: 'one'}, {...base, id: 'dup', subject: 'two'}]);
	t.is(duplicates.body.queued, 1, 'duplicate ids in one request count once');
	t.is((await list(instance)).find(m => m.id === 'dup')!.message.subject, 'two', 'the later item wins');
});

test('priority: message > batch default_priority > instance default; labels, numeric strings and clamping; ordered by priority then arrival', async t => {
	const {instance} = await seed(t, {...TEST_MODE, GMP_DEFAULT_PRIORITY: 'low'});
	await enqueue(instance, [{...base, id: 'instance-default'}]);
	await enqueue(instance, [{...base, id: 'batch-default'}, {...base, id: 'own', priority: 'immediate'}], {default_priority: 'high'});
	await enqueue(instance, [{...base, id: 'numeric', priority: '2'}, {...base, id: 'clamped-high', priority: 9}, {...base, id: 'clamped-low', priority: -3}, {...base, id: 'int', priority: 1}]);
	const stored = await list(instance);
	t.deepEqual(
		stored.map(m => [m.id, m.priority, m.message.priority]),
		[
			['own', 0, 0],
			['clamped-low', 0, 0],
			['batch-default', 1, 1],
			['int', 1, 1],
			['numeric', 2, 2],
			['instance-default', 3, 3],
			['clamped-high', 3, 3],
		],
	);
});

test('a tenant key enqueues into its own tenant only; another tenant in any message is 401 for the whole request', async t => {
	const {instance, keyA} = await seed(t);
	const own = await enqueue(instance, [{...base, id: 'k1', tenant_id: undefined}], {}, keyA);
	t.deepEqual(own.body, {ok: true, queued: 1, rejected: []});
	const before = snapshot(instance.paths);
	const mixed = await enqueue(instance, [{...base, id: 'k2', tenant_id: undefined}, {...base, id: 'k3', tenant_id: 'B'}], {}, keyA);
	t.is(mixed.status, 401);
	t.is(snapshot(instance.paths), before);
	t.deepEqual((await list(instance, 'tenant_id=B')).map(m => m.id), []);
});

test('GET /messages: active_only, include_history, limit/offset paging, deferred and suspended states', async t => {
	const {instance} = await seed(t);
	const future = Math.floor(Date.now() / 1000) + 3600;
	await enqueue(instance, Array.from({length: 7}, (_, index) => ({...base, id: `p${index}`, batch_code: index % 2 === 0 ? 'even' : undefined, deferred_ts: index === 6 ? future : undefined})));
	await enqueue(instance, [{...base, id: 'err', account_id: 'nope'}]);
	const page = async (offset: number) => (await list(instance, `tenant_id=A&limit=3&offset=${offset}`)).map(m => m.id);
	t.deepEqual([...(await page(0)), ...(await page(3)), ...(await page(6))], ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'err']);
	t.deepEqual(await page(9), []);
	t.is((await list(instance, 'tenant_id=A&active_only=true')).length, 7);
	t.is((await instance.request('GET', '/messages?tenant_id=A&limit=0')).status, 422);
	t.is((await instance.request('GET', '/messages?tenant_id=A&active_only=perhaps')).status, 422);
	const badStatus = await instance.request('GET', '/messages?tenant_id=A&status=lost');
	t.is(badStatus.status, 422);
	t.deepEqual(badStatus.body.detail[0].loc, ['query', 'status']);

	const all = await list(instance, 'tenant_id=A&include_history=true');
	t.like(all.find(m => m.id === 'p6'), {status: 'deferred', deferred_ts: future});
	t.deepEqual(all.find(m => m.id === 'err')!.history.map((h: {event_type: string}) => h.event_type), ['error']);
	t.false('history' in (await list(instance))[0]!);

	const suspended = await instance.request('POST', '/commands/suspend?tenant_id=A&batch_code=even');
	t.deepEqual(suspended.body, {ok: true, tenant_id: 'A', batch_code: 'even', suspended_batches: ['even'], pending_messages: 4});
	const states = new Map((await list(instance)).map(m => [m.id, m.status]));
	t.is(states.get('p0'), 'suspended');
	t.is(states.get('p1'), 'pending');
	t.is(states.get('p6'), 'suspended');
});

test('suspend and activate: all vs one batch, the 400 cases, and the command log', async t => {
	const {instance, keyA} = await seed(t);
	await enqueue(instance, [{...base, id: 'x', batch_code: 'news'}, {...base, id: 'y', batch_code: 'promo'}, {...base, id: 'z'}]);
	const call = (verb: string, query: string, token?: string) => instance.request('POST', `/commands/${verb}?${query}`, {token});
	t.like((await call('suspend', 'tenant_id=A&batch_code=promo')).body, {suspended_batches: ['promo'], pending_messages: 1, batch_code: 'promo'});
	t.like((await call('suspend', 'tenant_id=A&batch_code=news')).body, {suspended_batches: ['news', 'promo']});
	t.like((await call('suspend', 'tenant_id=A&batch_code=news')).body, {suspended_batches: ['news', 'promo']}, 'idempotent');
	t.like((await call('activate', 'tenant_id=A&batch_code=news')).body, {suspended_batches: ['promo']});
	const all = await call('suspend', '', keyA);
	t.deepEqual(all.body, {ok: true, tenant_id: 'A', suspended_batches: ['*'], pending_messages: 3});
	t.like((await call('suspend', 'tenant_id=A&batch_code=news')).body, {suspended_batches: ['*']}, 'no-op under full suspension');
	t.true((await list(instance)).every(m => m.status === 'suspended'));
	const refused = await call('activate', 'tenant_id=A&batch_code=news');
	t.is(refused.status, 400);
	t.deepEqual(refused.body, {detail: 'tenant not found or cannot activate single batch from full suspension'});
	t.like((await call('activate', 'tenant_id=A')).body, {suspended_batches: [], pending_messages: 3});
	t.true((await list(instance)).every(m => m.status === 'pending'));

	t.deepEqual((await call('suspend', 'tenant_id=ghost')).body, {detail: 'tenant not found'});
	t.is((await call('suspend', 'tenant_id=ghost')).status, 400);
	t.deepEqual((await call('suspend', 'tenant_id=')).body, {detail: 'tenant_id is required'});
	t.is((await call('suspend', '')).status, 422, 'the admin must name the tenant');
	const log = (await instance.request('GET', '/command-log?endpoint_filter=s')).body.commands.filter((c: {endpoint: string}) => ['suspend', 'activate'].includes(c.endpoint));
	t.true(log.length >= 7);
	t.true(log.some((c: {response_status: number}) => c.response_status === 400));
});

test('delete-messages and cleanup-messages act only on the calling tenant', async t => {
	const {instance, keyA, keyB} = await seed(t);
	await enqueue(instance, [{...base, id: 'shared'}, {...base, id: 'a-only'}]);
	await enqueue(instance, [{...base, tenant_id: 'B', id: 'shared'}, {...base, tenant_id: 'B', id: 'b-only'}]);
	const byA = await instance.request('POST', '/commands/delete-messages', {body: {ids: ['shared', 'b-only', 'ghost']}, token: keyA});
	t.deepEqual(byA.body, {ok: true, removed: 1, not_found: ['b-only', 'ghost'], unauthorized: []});
	t.deepEqual((await list(instance, 'tenant_id=B')).map(m => m.id), ['shared', 'b-only'], "B's messages are untouched");
	t.is((await instance.request('POST', '/commands/delete-messages?tenant_id=B', {body: {ids: ['b-only']}, token: keyA})).status, 401);
	t.is((await instance.request('POST', '/commands/delete-messages?tenant_id=', {body: {ids: []}})).status, 400);
	t.is((await instance.request('POST', '/commands/delete-messages?tenant_id=A')).status, 422, 'the body is required');

	// Processed and acknowledged (set up directly: reports are another part), old enough → removed; others stay.
	await enqueue(instance, [{...base, tenant_id: 'B', id: 'old-error', account_id: 'nope'}, {...base, tenant_id: 'B', id: 'new-error', account_id: 'nope'}], {}, keyB);
	const db = new Database(instance.paths.db);
	db.prepare("UPDATE message_events SET reported_ts = 1000 WHERE message_pk = (SELECT pk FROM messages WHERE tenant_id = 'B' AND id = 'old-error')").run();
	db.close();
	const cleanup = await instance.request('POST', '/commands/cleanup-messages', {body: {older_than_seconds: 60}, token: keyB});
	t.deepEqual(cleanup.body, {ok: true, removed: 1});
	t.deepEqual((await list(instance, 'tenant_id=B')).map(m => m.id), ['shared', 'b-only', 'new-error']);
	t.deepEqual((await instance.request('POST', '/commands/cleanup-messages?tenant_id=A', {body: {}})).body, {ok: true, removed: 0});
});

test('retention purges only acknowledged processed messages older than the retention period, never pending ones', async t => {
	const {instance} = await seed(t, {...TEST_MODE, GMP_DELIVERY_REPORT_RETENTION_SECONDS: '100'});
	await instance.request('PUT', '/tenant/A', {body: {client_base_url: 'http://127.0.0.1:9/app'}});
	await enqueue(instance, [{...base, id: 'acked-old', account_id: 'nope'}, {...base, id: 'acked-recent', account_id: 'nope'}, {...base, id: 'unacked', account_id: 'nope'}, {...base, id: 'pending'}]);
	const now = Math.floor(Date.now() / 1000);
	const db = new Database(instance.paths.db);
	const ack = db.prepare("UPDATE message_events SET reported_ts = ? WHERE message_pk = (SELECT pk FROM messages WHERE id = ?)");
	ack.run(now - 500, 'acked-old');
	ack.run(now - 10, 'acked-recent');
	db.close();
	await instance.request('POST', '/commands/run-now');
	await waitFor(async () => !(await list(instance)).some(m => m.id === 'acked-old'), {what: 'the retention purge'});
	t.deepEqual((await list(instance)).map(m => m.id).sort(), ['acked-recent', 'pending', 'unacked']);
	t.deepEqual(query(instance.paths, "SELECT count(*) AS n FROM message_events WHERE message_pk NOT IN (SELECT pk FROM messages)"), [{n: 0}], 'their events went with them');
});

test('a 2xx means the messages are on disk: they survive a kill -9 of the worker right after the answer', async t => {
	const {instance} = await seed(t);
	const response = await enqueue(instance, Array.from({length: 50}, (_, index) => ({...base, id: `durable-${index}`})));
	t.is(response.body.queued, 50);
	const worker = instance.workerPid();
	process.kill(worker, 'SIGKILL');
	await waitFor(async () => instance.workerPid() !== worker && (await fetch(`${instance.url}/health`).catch(() => undefined))?.ok, {what: 'restart'});
	t.is((await list(instance)).length, 50);
});
