import fs from 'node:fs';
import {fileURLToPath} from 'node:url';
import test from 'ava';
import {startInstance, type Instance} from '../helpers/daemon.js';
import {query} from '../helpers/db.js';
import {waitFor} from '../helpers/home.js';

const INVOICE = fileURLToPath(new URL('../../../test/fixtures/invoice.eml', import.meta.url));

async function seeded(t: Parameters<typeof startInstance>[0]): Promise<Instance> {
	const instance = await startInstance(t, {env: {GMP_TEST_MODE: 'true'}});
	await instance.cli([instance.name, 'tenants', 'add', 'acme']);
	await instance.cli([instance.name, 'acme', 'accounts', 'add', 'smtp', '--host', '127.0.0.1', '--port', '2525']);
	return instance;
}

test('send stores a multipart .eml byte for byte, with the envelope from its headers, and prints the id', async t => {
	const instance = await seeded(t);
	const sent = await instance.cli([instance.name, 'acme', 'send', INVOICE, '--priority', 'high']);
	t.is(sent.exitCode, 0, sent.stderr);
	const id = sent.stdout.trim();
	t.regex(id, /^eml-Z[\dA-Za-z]{21}$/);
	const [row] = query<{payload: string; priority: number; id: string}>(instance.paths, 'SELECT id, priority, payload FROM messages');
	t.is(row!.id, id);
	t.is(row!.priority, 1);
	const payload = JSON.parse(row!.payload);
	t.true(Buffer.from(payload.raw, 'base64').equals(fs.readFileSync(INVOICE)), 'every byte of the file is kept');
	t.is(payload.from, 'bounces@acme.example', 'Return-Path is the envelope sender');
	t.deepEqual(payload.to, ['ann@example.org', 'bob@example.org', 'carol@example.org', 'audit@acme.example']);
	t.is(payload.subject, 'Fattura n° 42');

	const overridden = await instance.cli([instance.name, 'acme', 'send', INVOICE, '--id', 'inv-42', '--to', 'only@example.org', '--json']);
	t.like(JSON.parse(overridden.stdout), {ok: true, id: 'inv-42'});
	const listed = JSON.parse((await instance.cli([instance.name, 'acme', 'messages', 'show', 'inv-42', '--json'])).stdout);
	t.deepEqual(listed.message.to, ['only@example.org']);
	t.is(listed.message.raw_size, fs.statSync(INVOICE).size);
	t.false('raw' in listed.message);

	const missing = await instance.cli([instance.name, 'acme', 'send', '/nonexistent.eml']);
	t.is(missing.exitCode, 1);
	t.regex(missing.stderr, /cannot read \/nonexistent\.eml: ENOENT/);
	await instance.cli([instance.name, 'acme', 'accounts', 'add', 'second', '--host', 'h']);
	const ambiguous = await instance.cli([instance.name, 'acme', 'send', INVOICE]);
	t.is(ambiguous.exitCode, 2);
	t.regex(ambiguous.stderr, /--account/);
});

test('messages list: status filter, --json and --csv shapes; show --history; delete', async t => {
	const instance = await seeded(t);
	const future = Math.floor(Date.now() / 1000) + 3600;
	const message = {tenant_id: 'acme', account_id: 'smtp', from: 'a@acme.example', to: ['b@example.org'], subject: 'Hi, "you"'};
	await instance.request('POST', '/commands/add-messages', {
		body: {messages: [{...message, id: 'p1'}, {...message, id: 'later', deferred_ts: future}, {...message, id: 'broken', account_id: 'nope'}]},
	});
	const all = JSON.parse((await instance.cli([instance.name, 'acme', 'messages', 'list', '--json'])).stdout);
	t.deepEqual(all.map((m: {id: string; status: string}) => [m.id, m.status]), [['p1', 'pending'], ['later', 'deferred'], ['broken', 'error']]);
	t.deepEqual(Object.keys(all[0]).sort(), ['account_id', 'batch_code', 'created_at', 'deferred_ts', 'id', 'is_pec', 'message', 'pk', 'priority', 'status', 'tenant_id', 'tenant_name', 'updated_at'], 'a stable shape: absent values are null');
	const errors = JSON.parse((await instance.cli([instance.name, 'acme', 'messages', 'list', '--status', 'error', '--json'])).stdout);
	t.deepEqual(errors.map((m: {id: string}) => m.id), ['broken']);
	t.is(errors[0].error, 'account not found for tenant');
	const deferred = JSON.parse((await instance.cli([instance.name, 'acme', 'messages', 'list', '--status', 'deferred', '--json'])).stdout);
	t.deepEqual(deferred.map((m: {id: string}) => m.id), ['later']);

	const csv = (await instance.cli([instance.name, 'acme', 'messages', 'list', '--csv'])).stdout.trim().split('\n');
	t.is(csv[0], 'pk,id,status,priority,account_id,batch_code,to,subject,created_at,deferred_ts,sent_ts,error,bounce_type');
	t.is(csv.length, 4);
	t.true(csv[1]!.includes(',p1,pending,2,smtp,,b@example.org,"Hi, ""you""",'), csv[1]);

	const table = await instance.cli([instance.name, 'acme', 'messages', 'list']);
	t.regex(table.stdout, /ID\s+STATUS/);
	t.regex(table.stdout, /broken\s+error/);
	const bad = await instance.cli([instance.name, 'acme', 'messages', 'list', '--status', 'lost']);
	t.is(bad.exitCode, 2);

	const shown = await instance.cli([instance.name, 'acme', 'messages', 'show', 'broken', '--history']);
	t.regex(shown.stdout, /error\s+account not found for tenant/);
	t.regex(shown.stdout, /EVENT\s+TYPE/);

	t.is((await instance.cli([instance.name, 'acme', 'messages', 'delete', 'p1'])).exitCode, 2, 'no terminal, no --force');
	const deleted = await instance.cli([instance.name, 'acme', 'messages', 'delete', 'p1', 'ghost', '--force', '--json']);
	t.deepEqual(JSON.parse(deleted.stdout), {ok: true, removed: 1, not_found: ['ghost'], unauthorized: []});
});

test('suspend/activate, run-now and stats from the CLI', async t => {
	const instance = await seeded(t);
	const message = {tenant_id: 'acme', account_id: 'smtp', from: 'a@acme.example', to: ['b@example.org'], subject: 'Hi'};
	await instance.request('POST', '/commands/add-messages', {body: {messages: [{...message, id: 'n1', batch_code: 'news'}, {...message, id: 'o1'}]}});
	const suspended = await instance.cli([instance.name, 'acme', 'suspend', '--batch', 'news']);
	t.regex(suspended.stdout, /suspended batches: news \(1 pending in batch news\)/);
	t.like(JSON.parse((await instance.cli([instance.name, 'acme', 'suspend', '--json'])).stdout), {suspended_batches: ['*'], pending_messages: 2});
	const refused = await instance.cli([instance.name, 'acme', 'activate', '--batch', 'news']);
	t.is(refused.exitCode, 1);
	t.regex(refused.stderr, /cannot activate single batch/);
	t.regex((await instance.cli([instance.name, 'acme', 'activate'])).stdout, /sending normally/);

	const stats = JSON.parse((await instance.cli([instance.name, 'stats', '--json'])).stdout);
	t.deepEqual(stats, {tenants: 1, accounts: 1, messages: {total: 2, pending: 2, deferred: 0, suspended: 0, sending: 0, sent: 0, error: 0, bounced: 0}});
	t.regex((await instance.cli([instance.name, 'stats'])).stdout, /pending\s+2/);

	// In test mode run-now runs one dispatch cycle: nothing listens on the account's port, so both
	// attempts fail with a connection refusal, which is temporary.
	const woke = await instance.cli([instance.name, 'acme', 'run-now']);
	t.is(woke.exitCode, 0);
	t.deepEqual(query(instance.paths, "SELECT sync_force FROM tenants WHERE id = 'acme'"), [{sync_force: 1}]);
	await waitFor(async () => JSON.parse((await instance.cli([instance.name, 'stats', '--json'])).stdout).messages.deferred === 2, {what: 'the deferrals'});

});
