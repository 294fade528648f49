import fs from 'node:fs';
import net from 'node:net';
import test from 'ava';
import {startInstance} from '../helpers/daemon.js';
import {query, snapshot} from '../helpers/db.js';

/** No background loops: only the requests under test touch the database (and nothing leaves the machine). */
const TEST_MODE = {GMP_TEST_MODE: 'true'};

test('malformed JSON is 422 json_invalid and changes nothing', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	const before = snapshot(instance.paths);
	const response = await instance.request('POST', '/tenant', {body: '{"id": "acme",'});
	t.is(response.status, 422);
	t.is(response.body.detail[0].type, 'json_invalid');
	t.is(response.body.detail[0].loc[0], 'body');
	t.is(snapshot(instance.paths), before);
});

test('schema violations are 422 with field-level details in the 0.6 vocabulary, and change nothing', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	await instance.request('POST', '/tenant', {body: {id: 'acme'}});
	const cases: Array<[string, string, unknown, {type: string; loc: Array<string | number>}]> = [
		['POST', '/tenant', {}, {type: 'missing', loc: ['body', 'id']}],
		['POST', '/tenant', {id: 42}, {type: 'string_type', loc: ['body', 'id']}],
		['POST', '/tenant', {id: 'bad id!'}, {type: 'string_pattern_mismatch', loc: ['body', 'id']}],
		['POST', '/tenant', {id: 'x', client_base_url: 'ftp://nope'}, {type: 'string_pattern_mismatch', loc: ['body', 'client_base_url']}],
		['POST', '/tenant', {id: 'x', client_auth: {method: 'bearer', token: 't', extra: 1}}, {type: 'extra_forbidden', loc: ['body', 'client_auth', 'extra']}],
		['POST', '/tenant', {id: 'x', client_auth: {method: 'magic'}}, {type: 'literal_error', loc: ['body', 'client_auth', 'method']}],
		['POST', '/tenant', {id: 'x', client_auth: {method: 'bearer'}}, {type: 'value_error', loc: ['body', 'client_auth', 'token']}],
		['POST', '/tenant', {id: 'x', rate_limits: {hourly: -1}}, {type: 'greater_than_equal', loc: ['body', 'rate_limits', 'hourly']}],
		['POST', '/tenant', {id: 'x', client_signing_secret: 'short'}, {type: 'string_too_short', loc: ['body', 'client_signing_secret']}],
		['POST', '/tenant', {id: 'x', large_file_config: {enabled: true, nope: 1}}, {type: 'extra_forbidden', loc: ['body', 'large_file_config', 'nope']}],
		['POST', '/account', {id: 'a', tenant_id: 'acme', host: 'h'}, {type: 'missing', loc: ['body', 'port']}],
		['POST', '/account', {id: 'a', tenant_id: 'acme', host: 'h', port: 70_000}, {type: 'less_than_equal', loc: ['body', 'port']}],
		['POST', '/account', {id: 'a', tenant_id: 'acme', host: 'h', port: 25, limit_behavior: 'drop'}, {type: 'literal_error', loc: ['body', 'limit_behavior']}],
		['POST', '/account', {id: 'a', tenant_id: 'acme', host: '', port: 25}, {type: 'string_too_short', loc: ['body', 'host']}],
		['PUT', '/tenant/acme', {active: 'yes'}, {type: 'bool_type', loc: ['body', 'active']}],
	];
	for (const [method, path, body, expected] of cases) {
		const before = snapshot(instance.paths);
		const response = await instance.request(method, path, {body});
		t.is(response.status, 422, `${method} ${path} ${JSON.stringify(body)}`);
		t.like(response.body.detail[0], expected, JSON.stringify(body));
		t.is(typeof response.body.detail[0].msg, 'string');
		t.is(snapshot(instance.paths), before, `nothing written for ${JSON.stringify(body)}`);
	}
});

test('a body over GMP_MAX_BODY_MB is 413 whether declared or streamed, before authentication, and changes nothing', async t => {
	const instance = await startInstance(t, {env: {...TEST_MODE, GMP_MAX_BODY_MB: '0.01'}});
	const before = snapshot(instance.paths);
	const big = JSON.stringify({id: 'acme', name: 'x'.repeat(20_000)});
	const declared = await instance.request('POST', '/tenant', {body: big});
	t.is(declared.status, 413);
	t.deepEqual(declared.body, {detail: 'Request body too large'});
	const unauthenticated = await instance.request('POST', '/tenant', {body: big, token: null});
	t.is(unauthenticated.status, 413, '413 comes before authentication');

	// Chunked upload with no Content-Length: the cap applies while reading.
	const {port} = new URL(instance.url);
	const raw = await new Promise<string>((resolve, reject) => {
		const socket = net.connect(Number(port), '127.0.0.1', () => {
			socket.write(`POST /tenant HTTP/1.1\r\nHost: x\r\nX-API-Token: ${instance.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
			const chunk = Buffer.from(big);
			socket.write(`${chunk.length.toString(16)}\r\n`);
			socket.write(chunk);
			socket.write('\r\n0\r\n\r\n');
		});
		let data = '';
		socket.on('data', piece => (data += String(piece)));
		socket.on('end', () => resolve(data));
		socket.on('close', () => resolve(data));
		socket.on('error', reject);
		setTimeout(() => socket.destroy(), 3000);
	});
	t.regex(raw, /^HTTP\/1\.1 413/);
	t.is(snapshot(instance.paths), before);
	t.is((await instance.request('POST', '/tenant', {body: {id: 'small'}})).status, 200, 'a body under the cap is fine');
});

test('unknown routes are 404, wrong methods 405, every response carries X-Request-Id (echoed when given)', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	const missing = await instance.request('GET', '/nope');
	t.is(missing.status, 404);
	t.deepEqual(missing.body, {detail: 'Not Found'});
	const wrongMethod = await instance.request('PATCH', '/tenants');
	t.is(wrongMethod.status, 405);
	t.deepEqual(wrongMethod.body, {detail: 'Method Not Allowed'});
	t.regex(missing.headers.get('x-request-id') ?? '', /^[\dA-Za-z]{16}$/);
	const echoed = await instance.request('GET', '/health', {headers: {'X-Request-Id': 'trace-42'}});
	t.is(echoed.headers.get('x-request-id'), 'trace-42');
});

test('evaluation order: 401 before 422 before scope, 404 for a missing path tenant, 400 for a refused command', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	const created = await instance.request('POST', '/tenant', {body: {id: 'acme'}});
	const key = created.body.api_key as string;
	t.is((await instance.request('POST', '/tenant', {body: '{bad', token: null})).status, 401, 'authentication before body validation');
	t.is((await instance.request('POST', '/tenant', {body: '{bad', token: key})).status, 403, 'admin check before body validation');
	t.is((await instance.request('POST', '/account', {body: {id: 'a', tenant_id: 'other', host: 'h'}, token: key})).status, 422, 'validation before tenant scope');
	t.is((await instance.request('POST', '/account', {body: {id: 'a', tenant_id: 'other', host: 'h', port: 1}, token: key})).status, 401, 'then scope');
	t.is((await instance.request('GET', '/tenant/ghost')).status, 404);
	t.is((await instance.request('POST', '/account', {body: {id: 'a', tenant_id: 'ghost', host: 'h', port: 1}})).status, 400);
});

test('secrets are never returned, never logged in clear, and not stored in clear in the database files', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	const secrets = ['bearer-SECRET-4711', 'basic-PASSWORD-4712', 'signing-SECRET-4713-xyz', 'smtp-PASSWORD-4714', 'imap-PASSWORD-4715', 'bounce-PASSWORD-4716'];
	await instance.request('POST', '/tenant', {body: {id: 'acme', client_auth: {method: 'bearer', token: secrets[0]}, client_signing_secret: secrets[2]}});
	await instance.request('POST', '/tenant', {body: {id: 'beta', client_auth: {method: 'basic', user: 'u', password: secrets[1]}}});
	await instance.request('POST', '/account', {body: {id: 'pec', tenant_id: 'acme', host: 'h', port: 25, user: 'u', password: secrets[3], is_pec_account: true, imap_host: 'imap', imap_password: secrets[4]}});
	await instance.request('PUT', '/instance', {body: {bounce_imap_password: secrets[5]}});

	const responses = [
		await instance.request('GET', '/tenants'),
		await instance.request('GET', '/tenant/acme'),
		await instance.request('GET', '/tenant/beta'),
		await instance.request('GET', '/accounts?tenant_id=acme'),
		await instance.request('GET', '/instance'),
		await instance.request('GET', '/command-log'),
		await instance.request('GET', '/command-log/export'),
		await instance.request('GET', '/tenants/sync-status'),
	];
	const seen = JSON.stringify(responses.map(response => response.body));
	for (const secret of secrets) {
		t.false(seen.includes(secret), `${secret} not in any response`);
	}

	t.is(responses[1]!.body.client_auth.token, '***');
	t.is(responses[1]!.body.client_signing_secret, '***');
	t.is(responses[2]!.body.client_auth.password, '***');

	// A GET → edit → PUT round trip with the masks keeps the stored secrets.
	await instance.request('PUT', '/tenant/acme', {body: {client_auth: responses[1]!.body.client_auth, client_signing_secret: '***', name: 'ACME'}});
	const {openStore} = await import('../../source/shared/db/store.js');
	const store = openStore(instance.paths, {migrate: false});
	t.is(store.tenants.get('acme')!.client_auth!.token, secrets[0]);
	t.is(store.tenants.get('acme')!.client_signing_secret, secrets[2]);
	store.close();

	const files = [instance.paths.db, `${instance.paths.db}-wal`].filter(file => fs.existsSync(file)).map(file => fs.readFileSync(file).toString('latin1'));
	for (const secret of [...secrets, instance.token]) {
		t.false(files.some(content => content.includes(secret)), `${secret.slice(0, 12)}… is not stored in clear`);
	}

	const encrypted = query<{password: string}>(instance.paths, 'SELECT password FROM accounts')[0]!.password;
	t.regex(encrypted, /^ENC:[A-Za-z\d+/=]+$/);
	const log = fs.readFileSync(instance.paths.log, 'utf8');
	for (const secret of [...secrets, instance.token]) {
		t.false(log.includes(secret), 'the daemon log holds no secret');
	}
});
