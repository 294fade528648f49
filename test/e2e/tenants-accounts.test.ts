import test from 'ava';
import {startInstance, type Instance} from '../helpers/daemon.js';
import {query, snapshot} from '../helpers/db.js';
import {openStore} from '../../source/shared/db/store.js';

/** No background loops: only the requests under test touch the database (and nothing leaves the machine). */
const TEST_MODE = {GMP_TEST_MODE: 'true'};

async function withTenant(instance: Instance, id: string, extra: Record<string, unknown> = {}): Promise<string> {
	const created = await instance.request('POST', '/tenant', {body: {id, ...extra}});
	if (created.status !== 200) {
		throw new Error(JSON.stringify(created.body));
	}

	return created.body.api_key as string;
}

test('tenant CRUD: create returns a key once, replace keeps it, PUT changes only given fields, delete cascades', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	const created = await instance.request('POST', '/tenant', {
		body: {id: 'acme', name: 'ACME', client_base_url: 'https://app.acme.example', client_auth: {method: 'bearer', token: 'tok-123'}, rate_limits: {hourly: 100, daily: 1000}, unknown_field: 1},
	});
	t.is(created.status, 200);
	t.regex(created.body.api_key, /^[\w-]{43}$/);
	const key = created.body.api_key as string;

	const fetched = await instance.request('GET', '/tenant/acme');
	t.is(fetched.status, 200);
	t.false('ok' in fetched.body);
	t.like(fetched.body, {id: 'acme', name: 'ACME', client_base_url: 'https://app.acme.example', client_auth: {method: 'bearer', token: '***'}, rate_limits: {hourly: 100, daily: 1000}, active: true});
	t.regex(fetched.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
	t.false('client_sync_path' in fetched.body, 'null fields are omitted');

	const replaced = await instance.request('POST', '/tenant', {body: {id: 'acme', name: 'ACME Corp'}});
	t.deepEqual(replaced.body, {ok: true}, 'replacing answers without a key');
	const afterReplace = await instance.request('GET', '/tenant/acme');
	t.is(afterReplace.body.name, 'ACME Corp');
	t.false('client_base_url' in afterReplace.body, 'absent fields reset to defaults');
	t.is((await instance.request('GET', '/tenant/acme', {token: key})).status, 200, 'the key survives a replace');

	t.deepEqual((await instance.request('PUT', '/tenant/acme', {body: {client_base_url: 'https://new.example'}})).body, {ok: true});
	const afterPut = await instance.request('GET', '/tenant/acme');
	t.like(afterPut.body, {name: 'ACME Corp', client_base_url: 'https://new.example'});
	t.is((await instance.request('PUT', '/tenant/acme', {body: {}})).status, 200, 'an empty PUT is a no-op');
	t.is((await instance.request('PUT', '/tenant/ghost', {body: {name: 'x'}})).status, 404);
	t.deepEqual((await instance.request('GET', '/tenant/ghost')).body, {detail: "Tenant 'ghost' not found"});

	await withTenant(instance, 'beta');
	await instance.request('POST', '/account', {body: {id: 'a1', tenant_id: 'acme', host: 'smtp.acme.example', port: 587}});
	await instance.request('POST', '/account', {body: {id: 'a1', tenant_id: 'beta', host: 'smtp.beta.example', port: 587}});
	const listed = await instance.request('GET', '/tenants');
	t.deepEqual(listed.body.tenants.map((tenant: {id: string}) => tenant.id), ['acme', 'beta']);

	t.deepEqual((await instance.request('DELETE', '/tenant/acme')).body, {ok: true});
	t.is((await instance.request('GET', '/tenant/acme')).status, 404);
	t.is((await instance.request('DELETE', '/tenant/acme')).status, 404);
	t.deepEqual(query(instance.paths, 'SELECT tenant_id, id FROM accounts'), [{tenant_id: 'beta', id: 'a1'}], "the other tenant's account with the same id is untouched");
	t.is((await instance.request('GET', '/tenant/acme', {token: key})).status, 401, 'the deleted tenant key no longer works');
});

test('active_only lists only active tenants; api-key rotate invalidates the old key at once; revoke removes it', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	const key = await withTenant(instance, 'on');
	await withTenant(instance, 'off', {active: false});
	t.deepEqual((await instance.request('GET', '/tenants?active_only=true')).body.tenants.map((x: {id: string}) => x.id), ['on']);
	t.deepEqual((await instance.request('GET', '/tenants?active_only=no')).body.tenants.map((x: {id: string}) => x.id), ['off', 'on']);
	t.is((await instance.request('GET', '/tenants?active_only=maybe')).status, 422);

	const rotated = await instance.request('POST', '/tenant/on/api-key');
	t.is(rotated.status, 200);
	t.not(rotated.body.api_key, key);
	t.is((await instance.request('GET', '/tenant/on', {token: key})).status, 401);
	t.is((await instance.request('GET', '/tenant/on', {token: rotated.body.api_key})).status, 200);
	t.deepEqual((await instance.request('DELETE', '/tenant/on/api-key')).body, {ok: true});
	t.is((await instance.request('GET', '/tenant/on', {token: rotated.body.api_key})).status, 401);
	t.is((await instance.request('POST', '/tenant/ghost/api-key')).status, 404);
	t.is((await instance.request('DELETE', '/tenant/ghost/api-key')).status, 404);
});

test('an expired tenant key is refused', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	const key = await withTenant(instance, 'acme');
	t.is((await instance.request('GET', '/tenant/acme', {token: key})).status, 200);
	const Database = (await import('better-sqlite3')).default;
	const db = new Database(instance.paths.db);
	db.prepare('UPDATE tenants SET api_key_expires_at = ? WHERE id = ?').run(Math.floor(Date.now() / 1000) - 1, 'acme');
	db.close();
	t.is((await instance.request('GET', '/tenant/acme', {token: key})).status, 401);
});

test('account CRUD: upsert keeps the password when omitted and clears it with "", unknown tenant is 400, delete is scoped', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	const key = await withTenant(instance, 'acme');
	const account = {id: 'smtp-main', host: 'smtp.acme.example', port: 587, user: 'billing', password: 'pw-1', limit_per_minute: 10, tls_mode: 'starttls'};
	t.deepEqual((await instance.request('POST', '/account', {body: account, token: key})).body, {ok: true}, 'a tenant key defaults tenant_id to its own');
	const listed = await instance.request('GET', '/accounts', {token: key});
	t.is(listed.body.accounts.length, 1);
	t.like(listed.body.accounts[0], {id: 'smtp-main', tenant_id: 'acme', host: 'smtp.acme.example', port: 587, user: 'billing', ttl: 300, limit_per_minute: 10, limit_behavior: 'defer', tls_mode: 'starttls', is_pec_account: false, imap_port: 993, imap_ssl: true, imap_folder: 'INBOX'});
	t.false('password' in listed.body.accounts[0]);

	const stored = () => {
		const store = openStore(instance.paths, {migrate: false});
		try {
			return store.accounts.get('acme', 'smtp-main')!.password;
		} finally {
			store.close();
		}
	};

	t.is(stored(), 'pw-1');
	await instance.request('POST', '/account', {body: {...account, password: undefined, port: 2525}, token: key});
	t.is(stored(), 'pw-1', 'an absent password keeps the stored one');
	t.is((await instance.request('GET', '/accounts?tenant_id=acme')).body.accounts[0].port, 2525);
	await instance.request('POST', '/account', {body: {...account, password: ''}, token: key});
	t.is(stored(), null, '"" clears it');

	const orphan = await instance.request('POST', '/account', {body: {...account, tenant_id: 'ghost'}});
	t.is(orphan.status, 400);
	t.deepEqual(orphan.body, {detail: 'tenant not found'});
	t.deepEqual((await instance.request('GET', '/accounts?tenant_id=ghost')).body, {ok: true, accounts: []});

	const missing = await instance.request('DELETE', '/account/nope?tenant_id=acme');
	t.is(missing.status, 400);
	t.deepEqual(missing.body, {detail: 'account not found or not owned by tenant'});
	t.deepEqual((await instance.request('DELETE', '/account/smtp-main', {token: key})).body, {ok: true});
	t.deepEqual((await instance.request('GET', '/accounts', {token: key})).body.accounts, []);
});

test('instance settings: defaults, partial update, api_token rotates the admin token; secrets never returned', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	const initial = await instance.request('GET', '/instance');
	t.like(initial.body, {id: 1, name: 'mail-proxy', bounce_enabled: false, bounce_imap_port: 993, bounce_imap_folder: 'INBOX', bounce_imap_ssl: true, bounce_poll_interval: 60, retry_delays: [60, 300, 900, 3600, 7200], max_retries: 5});
	t.false('api_token' in initial.body);

	const put = await instance.request('PUT', '/instance', {body: {name: 'prod', retry_delays: [5, 10], max_retries: 2, bounce_imap_password: 'imap-secret', bounce_imap_host: 'imap.example'}});
	t.deepEqual(put.body, {ok: true});
	const after = await instance.request('GET', '/instance');
	t.like(after.body, {name: 'prod', retry_delays: [5, 10], max_retries: 2, bounce_imap_host: 'imap.example'});
	t.false(JSON.stringify(after.body).includes('imap-secret'));
	t.false('bounce_imap_password' in after.body);

	for (const bad of [{retry_delays: []}, {retry_delays: [0]}, {max_retries: 21}, {bounce_poll_interval: 5}, {api_token: 'short'}]) {
		const before = snapshot(instance.paths);
		const refused = await instance.request('PUT', '/instance', {body: bad});
		t.is(refused.status, 422, JSON.stringify(bad));
		t.is(refused.body.detail[0].loc[0], 'body');
		t.is(snapshot(instance.paths), before);
	}

	const fresh = 'x'.repeat(40);
	t.is((await instance.request('PUT', '/instance', {body: {api_token: fresh}})).status, 200);
	t.is((await instance.request('GET', '/instance')).status, 401, 'the old admin token stops working at once');
	t.is((await instance.request('GET', '/instance', {token: fresh})).status, 200);
});

test('command log records each command with redacted payloads; filters, paging and export work', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	await withTenant(instance, 'acme', {client_auth: {method: 'basic', user: 'u', password: 'basic-secret'}, client_signing_secret: 'signing-secret-123456'});
	await withTenant(instance, 'beta');
	await instance.request('POST', '/account', {body: {id: 's', tenant_id: 'acme', host: 'h', port: 25, user: 'u', password: 'smtp-secret'}});
	await instance.request('PUT', '/tenant/beta', {body: {name: 'B'}});
	await instance.request('DELETE', '/account/s?tenant_id=acme');
	await instance.request('POST', '/account', {body: {id: 's', tenant_id: 'ghost', host: 'h', port: 25}});
	await instance.request('DELETE', '/tenant/beta');

	const log = await instance.request('GET', '/command-log');
	t.deepEqual(
		log.body.commands.map((c: {endpoint: string; tenant_id: string; response_status: number}) => [c.endpoint, c.tenant_id, c.response_status]),
		[
			['addTenant', 'acme', 200],
			['addTenant', 'beta', 200],
			['addAccount', 'acme', 200],
			['updateTenant', 'beta', 200],
			['deleteAccount', 'acme', 200],
			['addAccount', 'ghost', 400],
			['deleteTenant', 'beta', 200],
		],
	);
	t.is(log.body.total, 7);
	const text = JSON.stringify(log.body);
	for (const secret of ['basic-secret', 'signing-secret-123456', 'smtp-secret']) {
		t.false(text.includes(secret), secret);
	}

	t.is(log.body.commands[0].payload.client_auth.password, '***');
	t.is(log.body.commands[2].payload.password, '***');
	const stored = JSON.stringify(query(instance.paths, 'SELECT payload, response_body FROM command_log'));
	for (const secret of ['basic-secret', 'signing-secret-123456', 'smtp-secret']) {
		t.false(stored.includes(secret), `${secret} not in the stored log`);
	}

	const responses = query<{response_body: string}>(instance.paths, "SELECT response_body FROM command_log WHERE endpoint = 'addTenant'");
	t.deepEqual(JSON.parse(responses[0]!.response_body), {ok: true, api_key: '***'}, 'api keys are redacted from stored responses');

	t.deepEqual((await instance.request('GET', '/command-log?tenant_id=beta')).body.commands.map((c: {endpoint: string}) => c.endpoint), ['addTenant', 'updateTenant', 'deleteTenant']);
	t.deepEqual((await instance.request('GET', '/command-log?endpoint_filter=Account')).body.total, 3);
	t.deepEqual((await instance.request('GET', '/command-log?limit=2&offset=1')).body.commands.map((c: {endpoint: string}) => c.endpoint), ['addTenant', 'addAccount']);
	t.is((await instance.request('GET', '/command-log?limit=0')).status, 422);
	const first = log.body.commands[0].command_ts as number;
	t.is((await instance.request('GET', `/command-log?since_ts=${first + 3600}`)).body.total, 0);
	const exported = await instance.request('GET', '/command-log/export?tenant_id=acme');
	t.deepEqual(Object.keys(exported.body.commands[0]).sort(), ['command_ts', 'endpoint', 'payload', 'tenant_id']);
	t.is(exported.body.commands.length, 3);
});

test('sync-status lists every tenant with its report state; openapi.json documents every route from the schemas', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	await withTenant(instance, 'acme', {name: 'ACME', client_base_url: 'https://app.acme.example'});
	const status = await instance.request('GET', '/tenants/sync-status');
	t.is(status.body.sync_interval_seconds, 300);
	t.like(status.body.tenants[0], {id: 'acme', name: 'ACME', active: true, client_base_url: 'https://app.acme.example', next_sync_due: true, in_dnd: false, consecutive_failures: 0, pending_reports: 0});

	const document = await instance.request('GET', '/openapi.json', {token: null});
	t.is(document.status, 200);
	t.is(document.body.openapi, '3.1.0');
	for (const path of ['/tenant', '/tenants', '/tenants/sync-status', '/tenant/{tenant_id}', '/tenant/{tenant_id}/api-key', '/account', '/accounts', '/account/{account_id}', '/instance', '/instance/reload-bounce', '/command-log', '/command-log/export', '/health', '/status']) {
		t.truthy(document.body.paths[path], path);
	}

	t.deepEqual(document.body.paths['/tenant'].post.requestBody.content['application/json'].schema, {$ref: '#/components/schemas/TenantPayload'});
	const tenantSchema = document.body.components.schemas.TenantPayload;
	t.deepEqual(tenantSchema.required, ['id']);
	t.truthy(tenantSchema.properties.client_auth);
	t.truthy(document.body.components.schemas.AccountPayload.properties.limit_behavior);
});
