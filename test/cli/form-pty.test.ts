import test from 'ava';
import {startInstance} from '../helpers/daemon.js';
import {terminal} from '../helpers/pty.js';

/** No background loops: only the requests under test touch the database (and nothing leaves the machine). */
const TEST_MODE = {GMP_TEST_MODE: 'true'};

test('accounts add in a terminal: an Ink form with defaults, inline validation and a masked password', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	await instance.cli([instance.name, 'tenants', 'add', 'acme']);
	const term = terminal(t, instance.home, [instance.name, 'acme', 'accounts', 'add']);
	await term.waitFor(/\? Account id:/);
	term.write('smtp-main\r');
	await term.waitFor(/\? SMTP host:/);
	term.write('mail.acme.example\r');
	await term.waitFor(/\? SMTP port \(587\):/);

	term.mark();
	term.write('99999\r');
	await term.waitFor(/✖ Input should be less than or equal to 65535/);
	t.pass('the validation message is shown inline');
	for (let index = 0; index < 5; index++) {
		term.write('\u007F');
	}

	term.write('2525\r');
	await term.waitFor(/✔ SMTP port: 2525/);
	term.write('billing\r');
	await term.waitFor(/\? Password/);
	term.mark();
	term.write('s3cr3t-pw');
	const masked = await term.waitFor(/\*{9}/);
	t.false(masked.includes('s3cr3t-pw'), 'the password is masked while typed');
	term.write('\r');
	await term.waitFor(/\? TLS \(starttls\):/);
	term.write('\u001B[C');
	term.write('\r');
	await term.waitFor(/✔ TLS: ssl/);
	await term.waitFor(/\? Idle connection TTL \(s\) \(300\):/);
	term.write('\r');
	await term.waitFor(/\? Messages per cycle \[empty = instance default\]:/);
	term.write('\r');
	await term.waitFor(/\? Sends per minute \[empty = unlimited\]:/);
	term.write('-1\r');
	await term.waitFor(/✖ Input should be greater than or equal to 0/);
	term.write('\u007F\u007F12\r');
	term.write('\r\r');
	await term.waitFor(/\? Over the limit \(defer\):/);
	term.write('\r');
	await term.waitFor(/account 'smtp-main' saved for tenant 'acme'/);
	t.is(await term.exited, 0);
	t.false(term.output().includes('s3cr3t-pw'), 'the password never appears on screen');

	const accounts = (await instance.request('GET', '/accounts?tenant_id=acme')).body.accounts;
	t.like(accounts[0], {id: 'smtp-main', host: 'mail.acme.example', port: 2525, user: 'billing', tls_mode: 'ssl', ttl: 300, limit_per_minute: 12, limit_behavior: 'defer'});
	t.false('limit_per_hour' in accounts[0], 'empty limits are unlimited');
	const {openStore} = await import('../../source/shared/db/store.js');
	const store = openStore(instance.paths, {migrate: false});
	t.is(store.accounts.get('acme', 'smtp-main')!.password, 's3cr3t-pw');
	store.close();
});

test('Esc cancels the form: exit 1, nothing saved', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	await instance.cli([instance.name, 'tenants', 'add', 'acme']);
	const term = terminal(t, instance.home, [instance.name, 'acme', 'accounts', 'add', '--host', 'given.example']);
	await term.waitFor(/\? Account id:/);
	t.false(term.output().includes('SMTP host'), 'values given as flags are not asked again');
	term.write('half\r');
	await term.waitFor(/\? SMTP port/);
	term.write('\u001B');
	await term.waitFor(/cancelled/);
	t.is(await term.exited, 1);
	t.deepEqual((await instance.request('GET', '/accounts?tenant_id=acme')).body.accounts, []);
});

test('tenants add in a terminal asks for the id and the optional settings, then prints the key once', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	const term = terminal(t, instance.home, [instance.name, 'tenants', 'add']);
	await term.waitFor(/\? Tenant id:/);
	term.write('bad id\r');
	await term.waitFor(/✖ must be 1-64 letters/);
	for (let index = 0; index < 6; index++) {
		term.write('\u007F');
	}

	term.write('acme\r');
	await term.waitFor(/\? Name/);
	term.write('ACME\r');
	await term.waitFor(/\? Client base URL/);
	term.write('https://app.acme.example\r');
	await term.waitFor(/\? Client auth \(none\):/);
	term.write('\u001B[C\r');
	await term.waitFor(/\? Bearer token:/);
	term.write('tok-secret\r');
	await term.waitFor(/\? Sends per hour/);
	term.write('\r\r');
	const done = await term.waitFor(/api key: ([\w-]{43})/);
	t.is(await term.exited, 0);
	const key = /api key: ([\w-]{43})/.exec(done)![1]!;
	const tenant = await instance.request('GET', '/tenant/acme', {token: key});
	t.like(tenant.body, {id: 'acme', name: 'ACME', client_base_url: 'https://app.acme.example', client_auth: {method: 'bearer', token: '***'}});
});
