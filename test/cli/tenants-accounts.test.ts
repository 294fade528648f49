import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import {cli} from '../helpers/cli.js';
import {startInstance} from '../helpers/daemon.js';
import {snapshot} from '../helpers/db.js';

/** No background loops: only the requests under test touch the database (and nothing leaves the machine). */
const TEST_MODE = {GMP_TEST_MODE: 'true'};

test('tenants add/list/show/update/delete with flags and --json, against a running daemon', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	const added = await instance.cli([instance.name, 'tenants', 'add', 'acme', '--name', 'ACME', '--base-url', 'https://app.acme.example', '--auth-method', 'bearer', '--auth-token', 'cli-secret-token', '--rate-limit-hourly', '50', '--json']);
	t.is(added.exitCode, 0, added.stderr);
	const {api_key: key} = JSON.parse(added.stdout);
	t.regex(key, /^[\w-]{43}$/);
	t.is((await instance.request('GET', '/tenant/acme', {token: key})).status, 200, 'the key printed by the CLI works over REST at once');

	const listed = JSON.parse((await instance.cli([instance.name, 'tenants', 'list', '--json'])).stdout);
	t.is(listed.length, 1);
	t.like(listed[0], {id: 'acme', name: 'ACME', client_auth: {method: 'bearer', token: '***'}, rate_limits: {hourly: 50, daily: 0}, active: true});
	const shown = await instance.cli([instance.name, 'tenants', 'show', 'acme']);
	t.regex(shown.stdout, /client base url\s+https:\/\/app\.acme\.example/);
	t.false(shown.stdout.includes('cli-secret-token'));

	t.is((await instance.cli([instance.name, 'tenants', 'update', 'acme', '--inactive'])).exitCode, 0);
	t.false((await instance.request('GET', '/tenant/acme')).body.active);
	t.deepEqual(JSON.parse((await instance.cli([instance.name, 'tenants', 'list', '--active-only', '--json'])).stdout), []);

	const duplicate = await instance.cli([instance.name, 'tenants', 'add', 'acme']);
	t.is(duplicate.exitCode, 1);
	t.regex(duplicate.stderr, /already exists/);

	const refused = await instance.cli([instance.name, 'tenants', 'delete', 'acme']);
	t.is(refused.exitCode, 2);
	t.is((await instance.request('GET', '/tenant/acme')).status, 200, 'nothing deleted without --force');
	t.is((await instance.cli([instance.name, 'tenants', 'delete', 'acme', '--force'])).exitCode, 0);
	t.is((await instance.request('GET', '/tenant/acme')).status, 404);
});

test('bad or missing values without a terminal: exit 2, one line naming the flag, nothing written', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	await instance.cli([instance.name, 'tenants', 'add', 'acme']);
	await instance.cli(['stop', instance.name]);
	const before = snapshot(instance.paths);
	const cases: Array<[string[], RegExp]> = [
		[['tenants', 'add'], /missing tenant id/],
		[['tenants', 'add', 'bad id'], /<id>/],
		[['tenants', 'add', 'beta', '--base-url', 'not-a-url'], /--base-url: must be an absolute http\(s\):\/\/ URL/],
		[['tenants', 'add', 'beta', '--auth-method', 'bearer'], /--auth-method|token/],
		[['tenants', 'add', 'beta', '--rate-limit-daily', 'many'], /--rate-limit-daily must be a number/],
		[['tenants', 'update', 'acme'], /nothing to change/],
		[['acme', 'accounts', 'add', 'smtp'], /missing --host/],
		[['acme', 'accounts', 'add'], /missing <id>, --host/],
		[['acme', 'accounts', 'add', 'smtp', '--host', 'h', '--port', '70000'], /--port: Input should be less than or equal to 65535/],
		[['acme', 'accounts', 'add', 'smtp', '--host', 'h', '--tls', 'maybe'], /--tls/],
		[['acme', 'accounts', 'add', 'smtp', '--host', 'h', '--limit-behavior', 'drop'], /--limit-behavior/],
		[['acme', 'accounts', 'add', 'smtp', '--host', 'h', '--bogus'], /unknown flag --bogus/],
		[['acme', 'accounts', 'add', 'pec', '--host', 'h', '--pec', '--imap-port', '0'], /^mail-proxy: --imap-port: Input should be greater than or equal to 1/],
		[['config', 'set', '--retry-delays', '60,abc'], /--retry-delays/],
		[['config', 'set', '--max-retries', '50'], /--max-retries/],
		[['command-log', 'purge'], /missing --before/],
	];
	for (const [args, message] of cases) {
		const result = await instance.cli([instance.name, ...args]);
		t.is(result.exitCode, 2, args.join(' '));
		t.regex(result.stderr, message, args.join(' '));
		t.is(result.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line`);
	}

	t.is(snapshot(instance.paths), before);
	const ghost = await instance.cli([instance.name, 'ghost', 'accounts', 'list']);
	t.is(ghost.exitCode, 1);
	t.regex(ghost.stderr, /Tenant 'ghost' not found/);
});

test('accounts add/list/show/delete work with the daemon stopped; passwords are never printed', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	await instance.cli(['stop', instance.name]);
	await instance.cli([instance.name, 'tenants', 'add', 'acme']);
	const added = await instance.cli([instance.name, 'acme', 'accounts', 'add', 'smtp', '--host', 'smtp.acme.example', '--user', 'billing', '--password', 'cli-smtp-secret', '--limit-minute', '30', '--json']);
	t.is(added.exitCode, 0, added.stderr);
	t.deepEqual(JSON.parse(added.stdout), {ok: true});
	const listed = JSON.parse((await instance.cli([instance.name, 'acme', 'accounts', 'list', '--json'])).stdout);
	t.like(listed[0], {id: 'smtp', host: 'smtp.acme.example', port: 587, tls_mode: 'starttls', ttl: 300, user: 'billing', limit_per_minute: 30, limit_behavior: 'defer'});
	t.false('password' in listed[0]);
	const shown = await instance.cli([instance.name, 'acme', 'accounts', 'show', 'smtp']);
	t.regex(shown.stdout, /never shown/);
	t.false(shown.stdout.includes('cli-smtp-secret'));
	const table = await instance.cli([instance.name, 'acme', 'accounts', 'list']);
	t.regex(table.stdout, /smtp\s+smtp\.acme\.example:587\s+starttls\s+billing\s+30\/∞\/∞/);

	const pec = await instance.cli([instance.name, 'acme', 'accounts', 'add', 'pec', '--host', 'smtps.pec.example', '--tls', 'ssl', '--port', '465', '--user', 'ufficio', '--password', 'cli-pec-secret', '--pec', '--imap-host', 'imaps.pec.example', '--imap-folder', 'Ricevute']);
	t.is(pec.exitCode, 0, pec.stderr);
	t.like(JSON.parse((await instance.cli([instance.name, 'acme', 'accounts', 'show', 'pec', '--json'])).stdout), {is_pec_account: true, imap_host: 'imaps.pec.example', imap_port: 993, imap_ssl: true, imap_folder: 'Ricevute'});
	t.regex((await instance.cli([instance.name, 'acme', 'accounts', 'show', 'pec'])).stdout, /pec\s+yes \(IMAP imaps\.pec\.example:993 Ricevute, TLS\)/);
	const plain = await instance.cli([instance.name, 'acme', 'accounts', 'add', 'pec2', '--host', 'h', '--pec', '--imap-host', 'i', '--no-imap-tls', '--json']);
	t.is(plain.exitCode, 0, plain.stderr);
	t.like(JSON.parse((await instance.cli([instance.name, 'acme', 'accounts', 'show', 'pec2', '--json'])).stdout), {imap_port: 143, imap_ssl: false});
	await instance.cli([instance.name, 'acme', 'accounts', 'delete', 'pec', '--force']);
	await instance.cli([instance.name, 'acme', 'accounts', 'delete', 'pec2', '--force']);

	const info = JSON.parse((await instance.cli([instance.name, 'acme', 'info', '--json'])).stdout);
	t.like(info, {id: 'acme', accounts: 1, suspended_batches: [], sync: {pending_reports: 0, consecutive_failures: 0}});

	t.is((await instance.cli([instance.name, 'acme', 'accounts', 'delete', 'smtp', '--force'])).exitCode, 0);
	t.deepEqual(JSON.parse((await instance.cli([instance.name, 'acme', 'accounts', 'list', '--json'])).stdout), []);
	const gone = await instance.cli([instance.name, 'acme', 'accounts', 'delete', 'smtp', '--force']);
	t.is(gone.exitCode, 1);
	t.regex(gone.stderr, /account not found/);
});

test('config show/set and command-log list/export/purge', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	t.is((await instance.cli([instance.name, 'config', 'set', '--retry-delays', '10,20,30', '--max-retries', '3', '--name', 'staging', '--attachment-dir', instance.home])).exitCode, 0);
	const settings = JSON.parse((await instance.cli([instance.name, 'config', 'show', '--json'])).stdout);
	t.like(settings, {name: 'staging', retry_delays: [10, 20, 30], max_retries: 3, attachment_base_dir: instance.home});
	t.like((await instance.request('GET', '/instance')).body, {name: 'staging', retry_delays: [10, 20, 30], attachment_base_dir: instance.home});

	await instance.cli([instance.name, 'tenants', 'add', 'acme']);
	await instance.cli([instance.name, 'acme', 'accounts', 'add', 'smtp', '--host', 'h', '--password', 'pw-in-log?']);
	const entries = JSON.parse((await instance.cli([instance.name, 'command-log', 'list', '--json'])).stdout);
	t.deepEqual(entries.map((e: {endpoint: string}) => e.endpoint), ['addTenant', 'addAccount']);
	t.false(JSON.stringify(entries).includes('pw-in-log?'));
	t.is(JSON.parse((await instance.cli([instance.name, 'command-log', 'list', '--endpoint', 'Account', '--json'])).stdout).length, 1);

	const file = path.join(instance.home, 'log.json');
	t.is((await instance.cli([instance.name, 'command-log', 'export', '-o', file])).exitCode, 0);
	t.is(JSON.parse(fs.readFileSync(file, 'utf8')).commands.length, 2);
	const purged = await instance.cli([instance.name, 'command-log', 'purge', '--before', String(Math.floor(Date.now() / 1000) + 10), '--json']);
	t.deepEqual(JSON.parse(purged.stdout), {ok: true, removed: 2});
	t.deepEqual(JSON.parse((await instance.cli([instance.name, 'command-log', 'list', '--json'])).stdout), []);
});

test('help is available at every level', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	for (const args of [['--help'], [instance.name, '--help'], [instance.name, 'acme', '--help'], [instance.name, 'tenants', 'add', '--help'], ['start', '--help']]) {
		const result = await cli(instance.home, args);
		t.is(result.exitCode, 0, args.join(' '));
		t.regex(result.stdout, /mail-proxy|Usage/i);
	}
});
