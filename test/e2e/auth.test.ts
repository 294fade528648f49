import test from 'ava';
import {startInstance, type Instance} from '../helpers/daemon.js';
import {snapshot} from '../helpers/db.js';

type Case = {method: string; path: string; cls: 'admin' | 'tenant' | 'auth'; body?: unknown};

/** Every authenticated route, aimed at tenant B's data. */
const ROUTES: Case[] = [
	{method: 'GET', path: '/status', cls: 'auth'},
	{method: 'POST', path: '/tenant', cls: 'admin', body: {id: 'newcomer'}},
	{method: 'GET', path: '/tenants', cls: 'admin'},
	{method: 'GET', path: '/tenants/sync-status', cls: 'admin'},
	{method: 'GET', path: '/tenant/B', cls: 'tenant'},
	{method: 'PUT', path: '/tenant/B', cls: 'tenant', body: {name: 'hacked'}},
	{method: 'DELETE', path: '/tenant/B', cls: 'admin'},
	{method: 'POST', path: '/tenant/B/api-key', cls: 'admin'},
	{method: 'DELETE', path: '/tenant/B/api-key', cls: 'admin'},
	{method: 'POST', path: '/account', cls: 'tenant', body: {id: 'intruder', tenant_id: 'B', host: 'evil.example', port: 25}},
	{method: 'GET', path: '/accounts?tenant_id=B', cls: 'tenant'},
	{method: 'DELETE', path: '/account/b-smtp?tenant_id=B', cls: 'tenant'},
	{method: 'GET', path: '/instance', cls: 'admin'},
	{method: 'PUT', path: '/instance', cls: 'admin', body: {name: 'hacked'}},
	{method: 'POST', path: '/instance/reload-bounce', cls: 'admin'},
	{method: 'GET', path: '/command-log', cls: 'admin'},
	{method: 'GET', path: '/command-log/export', cls: 'admin'},
	{method: 'POST', path: '/commands/add-messages', cls: 'tenant', body: {messages: [{id: 'm1', tenant_id: 'B', account_id: 'b-smtp', from: 'a@b.example', to: ['c@d.example'], subject: 's'}]}},
	{method: 'GET', path: '/messages?tenant_id=B', cls: 'tenant'},
	{method: 'POST', path: '/commands/delete-messages?tenant_id=B', cls: 'tenant', body: {ids: ['b-1']}},
	{method: 'POST', path: '/commands/cleanup-messages?tenant_id=B', cls: 'tenant', body: {older_than_seconds: 0}},
	{method: 'POST', path: '/commands/suspend?tenant_id=B', cls: 'tenant'},
	{method: 'POST', path: '/commands/activate?tenant_id=B', cls: 'tenant'},
	{method: 'POST', path: '/commands/run-now?tenant_id=B', cls: 'tenant'},
];

async function setup(t: Parameters<typeof startInstance>[0]): Promise<{instance: Instance; keyA: string; keyB: string}> {
	// Test mode: nothing is dispatched, so the database changes only by the requests under test.
	const instance = await startInstance(t, {env: {GMP_TEST_MODE: 'true'}});
	const a = await instance.request('POST', '/tenant', {body: {id: 'A', rate_limits: {hourly: 10, daily: 100}}});
	const b = await instance.request('POST', '/tenant', {body: {id: 'B'}});
	await instance.request('POST', '/account', {body: {id: 'a-smtp', tenant_id: 'A', host: 'a.example', port: 25}});
	await instance.request('POST', '/account', {body: {id: 'b-smtp', tenant_id: 'B', host: 'b.example', port: 25, password: 'b-password'}});
	await instance.request('POST', '/commands/add-messages', {body: {messages: [{id: 'b-1', tenant_id: 'B', account_id: 'b-smtp', from: 'a@b.example', to: 'c@d.example', subject: 'hello'}]}});
	return {instance, keyA: a.body.api_key, keyB: b.body.api_key};
}

test('every route: no token, a wrong token, A’s key on B’s data and a tenant key on admin routes are refused and change nothing', async t => {
	const {instance, keyA} = await setup(t);
	for (const route of ROUTES) {
		const label = `${route.method} ${route.path}`;
		const before = snapshot(instance.paths);

		const anonymous = await instance.request(route.method, route.path, {token: null, body: route.body});
		t.is(anonymous.status, 401, `${label} without a token`);
		t.deepEqual(anonymous.body, {detail: route.cls === 'admin' ? 'Admin token required' : 'Invalid or missing API token'}, label);

		const wrong = await instance.request(route.method, route.path, {token: 'not-a-real-token', body: route.body});
		t.is(wrong.status, 401, `${label} with a wrong token`);
		t.deepEqual(wrong.body, {detail: 'Invalid or missing API token'}, label);

		const tenantKey = await instance.request(route.method, route.path, {token: keyA, body: route.body});
		if (route.cls === 'admin') {
			t.is(tenantKey.status, 403, `${label} with a tenant key`);
			t.deepEqual(tenantKey.body, {detail: 'Admin token required, tenant tokens not allowed for this operation'});
		} else if (route.cls === 'tenant') {
			t.is(tenantKey.status, 401, `${label} with tenant A's key`);
			t.deepEqual(tenantKey.body, {detail: 'Token not authorized for this tenant'});
		} else {
			t.is(tenantKey.status, 200, `${label} is open to any valid key`);
		}

		t.is(snapshot(instance.paths), before, `${label}: nothing changed`);
	}
});

test('a tenant key naming a tenant that does not exist is refused as out of scope, not as missing', async t => {
	const {instance, keyA} = await setup(t);
	for (const path of ['/tenant/ghost', '/accounts?tenant_id=ghost', '/messages?tenant_id=ghost']) {
		const response = await instance.request('GET', path, {token: keyA});
		t.is(response.status, 401, path);
		t.deepEqual(response.body, {detail: 'Token not authorized for this tenant'});
	}
});

test('a tenant key works on its own tenant, and may not change its rate limits or activity', async t => {
	const {instance, keyA} = await setup(t);
	t.is((await instance.request('GET', '/tenant/A', {token: keyA})).status, 200);
	t.deepEqual((await instance.request('GET', '/accounts', {token: keyA})).body.accounts.map((a: {id: string}) => a.id), ['a-smtp']);
	t.is((await instance.request('PUT', '/tenant/A', {token: keyA, body: {name: 'Mine'}})).status, 200);
	t.is((await instance.request('PUT', '/tenant/A', {token: keyA, body: {rate_limits: {hourly: 10, daily: 100}, active: true}})).status, 200, 'current values are accepted');
	const before = snapshot(instance.paths);
	for (const body of [{rate_limits: {hourly: 1000, daily: 100}}, {active: false}]) {
		const refused = await instance.request('PUT', '/tenant/A', {token: keyA, body});
		t.is(refused.status, 403, JSON.stringify(body));
		t.deepEqual(refused.body, {detail: 'Admin token required, tenant tokens not allowed for this operation'});
	}

	t.is(snapshot(instance.paths), before);
	t.is((await instance.request('PUT', '/tenant/A', {body: {active: false}})).status, 200, 'the admin may');
});

test('the admin must name the tenant on tenant routes (422), and the header name is case-insensitive', async t => {
	const {instance} = await setup(t);
	const missing = await instance.request('GET', '/accounts');
	t.is(missing.status, 422);
	t.deepEqual(missing.body.detail, [{type: 'missing', loc: ['query', 'tenant_id'], msg: 'Field required'}]);
	const noTenant = await instance.request('POST', '/account', {body: {id: 'x', host: 'h', port: 25}});
	t.is(noTenant.status, 422);
	t.deepEqual(noTenant.body.detail[0].loc, ['body', 'tenant_id']);
	const lower = await fetch(`${instance.url}/status`, {headers: {'x-api-token': instance.token}});
	t.is(lower.status, 200);
});
