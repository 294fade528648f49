import fs from 'node:fs';
import net from 'node:net';
import {spawn} from 'node:child_process';
import test from 'ava';
import Database from 'better-sqlite3';
import {execa} from 'execa';
import {instancePaths} from '../../source/shared/paths.js';
import {isAlive, readPidfile, writePidfile} from '../../source/shared/pidfile.js';
import {BIN, cli} from '../helpers/cli.js';
import {startInstance} from '../helpers/daemon.js';
import {freePort, tempHome, waitFor} from '../helpers/home.js';

test('first start creates the instance: 0700 directory, 0600 key, WAL database with a schema version, a 43-char token', async t => {
	const home = tempHome(t);
	const port = await freePort();
	const result = await cli(home, ['start', 'alpha', '--port', String(port)]);
	t.is(result.exitCode, 0, result.stderr);
	t.regex(result.stdout, new RegExp(`started at http://127\\.0\\.0\\.1:${port}`));
	const token = /admin token: (\S+)/.exec(result.stdout)?.[1];
	t.regex(token ?? '', /^[\w-]{43}$/);

	const paths = instancePaths('alpha', home);
	t.is(fs.statSync(paths.dir).mode & 0o777, 0o700);
	t.is(fs.statSync(paths.key).mode & 0o777, 0o600);
	t.is(fs.statSync(paths.key).size, 32);
	t.is(fs.statSync(paths.db).mode & 0o777, 0o600);
	const db = new Database(paths.db, {readonly: true});
	t.is(db.pragma('journal_mode', {simple: true}), 'wal');
	const version = db.prepare("SELECT value FROM instance_config WHERE key = 'schema_version'").get() as {value: string};
	t.true(Number(version.value) >= 1);
	const stored = db.prepare("SELECT value FROM instance_config WHERE key = 'api_token'").get() as {value: string};
	t.true(stored.value.startsWith('ENC:'), 'the admin token is encrypted at rest');
	t.false(stored.value.includes(token!));
	db.close();

	const health = await fetch(`http://127.0.0.1:${port}/health`);
	t.deepEqual(await health.json(), {status: 'ok'});
	const status = await fetch(`http://127.0.0.1:${port}/status`, {headers: {'X-API-Token': token!}});
	t.is(status.status, 200);
	t.like(await status.json(), {ok: true, active: true, pending_messages: 0});
	t.is((await fetch(`http://127.0.0.1:${port}/status`)).status, 401);
	t.is((await fetch(`http://127.0.0.1:${port}/status`, {headers: {'X-API-Token': 'nope'}})).status, 401);

	const again = await cli(home, ['start', 'alpha']);
	t.is(again.exitCode, 0);
	t.regex(again.stdout, /already running/);
	t.notRegex(again.stdout, /admin token/);
});

test('without --port the first free port >= 8000 not stored by another instance is used, and kept across restarts', async t => {
	const home = tempHome(t);
	const a = await startInstance(t, {home, name: 'a', probePort: true});
	const b = await startInstance(t, {home, name: 'b', probePort: true});
	const portA = Number(new URL(a.url).port);
	const portB = Number(new URL(b.url).port);
	t.true(portA >= 8000);
	t.true(portB >= 8000);
	t.not(portB, portA);
	t.is((await a.cli(['stop', 'a'])).exitCode, 0);
	// a is stopped, its port is free, but it is still a's: a third instance must not take it.
	const c = await startInstance(t, {home, name: 'c', probePort: true});
	t.not(Number(new URL(c.url).port), portA);
	const restarted = await cli(home, ['start', 'a', '--json']);
	t.is(JSON.parse(restarted.stdout).url, a.url);
});

test('an explicit busy port fails with "port N is in use", exit 1, and leaves no instance behind', async t => {
	const home = tempHome(t);
	const blocker = net.createServer();
	await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve));
	t.teardown(() => blocker.close());
	const port = (blocker.address() as net.AddressInfo).port;
	const result = await cli(home, ['start', 'busy', '--port', String(port)]);
	t.is(result.exitCode, 1);
	t.is(result.stderr.trim().split('\n').length, 1);
	t.regex(result.stderr, new RegExp(`port ${port} is in use`));
	t.false(fs.existsSync(instancePaths('busy', home).dir));
});

test('two concurrent starts of one instance give exactly one daemon; both exit 0 with the same URL', async t => {
	const home = tempHome(t);
	const [one, two] = await Promise.all([cli(home, ['start', 'twin', '--json']), cli(home, ['start', 'twin', '--json'])]);
	t.is(one.exitCode, 0, one.stderr);
	t.is(two.exitCode, 0, two.stderr);
	const urls = [JSON.parse(one.stdout).url, JSON.parse(two.stdout).url];
	t.is(urls[0], urls[1]);
	const created = [JSON.parse(one.stdout).created, JSON.parse(two.stdout).created];
	t.deepEqual(created.sort(), [false, true], 'exactly one of them created the instance');
	const supervisors = fs
		.readdirSync('/proc')
		.filter(entry => /^\d+$/.test(entry))
		.filter(entry => {
			try {
				const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
				return args.some(arg => arg.endsWith('/daemon/supervisor.js')) && args.includes(home);
			} catch {
				return false;
			}
		});
	t.is(supervisors.length, 1);
});

test.serial('kill -9 of the worker: the supervisor restarts it and /health answers again within 2 s', async t => {
	const instance = await startInstance(t);
	const before = instance.workerPid();
	process.kill(before, 'SIGKILL');
	const killedAt = Date.now();
	await waitFor(async () => {
		const info = readPidfile(instance.paths);
		if (!info?.pid || info.pid === before) {
			return false;
		}

		return (await fetch(`${instance.url}/health`).catch(() => undefined))?.ok;
	}, {timeoutMs: 2000, what: 'the restarted worker'});
	t.log(`healthy again after ${Date.now() - killedAt} ms`);
	t.not(instance.workerPid(), before);
	const status = await instance.cli(['status', instance.name, '--json']);
	t.is(JSON.parse(status.stdout).restarts, 1);
});

test('kill -9 of the supervisor: status says stale and start works again (stale lock recovered)', async t => {
	const instance = await startInstance(t);
	const supervisor = instance.supervisorPid();
	const worker = instance.workerPid();
	process.kill(supervisor, 'SIGKILL');
	await waitFor(() => !isAlive(supervisor), {what: 'supervisor death'});
	const status = await instance.cli(['status', instance.name, '--json']);
	t.is(JSON.parse(status.stdout).status, 'stale');
	// The orphaned worker notices that its supervisor is gone and exits.
	await waitFor(() => !isAlive(worker), {what: 'orphaned worker exit', timeoutMs: 12_000});
	const started = await instance.cli(['start', instance.name, '--json']);
	t.is(started.exitCode, 0, started.stderr);
	t.is(JSON.parse(started.stdout).url, instance.url);
	t.is((await fetch(`${instance.url}/health`)).status, 200);
	t.not(instance.supervisorPid(), supervisor);
});

test('stop drains, releases the lock and removes the pidfile; a second stop says it is not running', async t => {
	const instance = await startInstance(t);
	const supervisor = instance.supervisorPid();
	const worker = instance.workerPid();
	const stopped = await instance.cli(['stop', instance.name]);
	t.is(stopped.exitCode, 0);
	t.regex(stopped.stdout, /stopped/);
	t.false(isAlive(supervisor));
	t.false(isAlive(worker));
	t.false(fs.existsSync(instance.paths.pidfile));
	t.false(fs.existsSync(instance.paths.lock));
	const again = await instance.cli(['stop', instance.name]);
	t.is(again.exitCode, 0);
	t.regex(again.stdout, /not running/);
	const listed = JSON.parse((await instance.cli(['list', '--json'])).stdout);
	t.like(listed[0], {name: instance.name, status: 'stopped', pid: null});
	t.is(listed[0].url, instance.url);
});

test('stop on a stale pidfile with a dead pid cleans it and says "was not running"', async t => {
	const instance = await startInstance(t);
	await instance.cli(['stop', instance.name]);
	const dead = spawn('true');
	await new Promise(resolve => dead.on('exit', resolve));
	writePidfile(instance.paths, {pid: dead.pid!, supervisorPid: dead.pid!, host: '127.0.0.1', port: 1, startedAt: new Date().toISOString(), version: '1', restarts: 0});
	t.is(JSON.parse((await instance.cli(['status', instance.name, '--json'])).stdout).status, 'stale');
	const stopped = await instance.cli(['stop', instance.name]);
	t.is(stopped.exitCode, 0);
	t.regex(stopped.stdout, /was not running/);
	t.false(fs.existsSync(instance.paths.pidfile));
});

test('stop on a pidfile whose pid now belongs to another program leaves that program alone', async t => {
	const instance = await startInstance(t);
	await instance.cli(['stop', instance.name]);
	const stranger = spawn('sleep', ['30']);
	t.teardown(() => stranger.kill('SIGKILL'));
	writePidfile(instance.paths, {pid: stranger.pid!, supervisorPid: stranger.pid!, host: '127.0.0.1', port: 1, startedAt: new Date().toISOString(), version: '1', restarts: 0});
	const stopped = await instance.cli(['stop', instance.name]);
	t.is(stopped.exitCode, 0);
	t.regex(stopped.stdout, /was not running/);
	t.true(isAlive(stranger.pid!), 'the unrelated process was not signalled');
	t.false(fs.existsSync(instance.paths.pidfile));
});

test('bad instance names are usage errors (exit 2) and create nothing', async t => {
	const home = tempHome(t);
	for (const name of ['../x', '', 'a'.repeat(65), 'has space', 'semi;colon']) {
		const result = await cli(home, ['start', name]);
		t.is(result.exitCode, 2, `start ${JSON.stringify(name)}`);
		t.is(result.stderr.trim().split('\n').length, 1);
		t.notRegex(result.stderr, /\n\s+at /, 'no stack trace');
	}

	t.deepEqual(fs.readdirSync(home), []);
	const unknown = await cli(home, ['ghost', 'info']);
	t.is(unknown.exitCode, 1);
	t.regex(unknown.stderr, /no instance 'ghost' — create it with `mail-proxy start ghost`/);
	const flag = await cli(home, ['list', '--bogus']);
	t.is(flag.exitCode, 2);
	t.regex(flag.stderr, /unknown flag --bogus/);
});

test('delete without --force and without a terminal exits 2 and deletes nothing; with --force it stops and removes', async t => {
	const instance = await startInstance(t);
	const refused = await instance.cli(['delete', instance.name]);
	t.is(refused.exitCode, 2);
	t.regex(refused.stderr, /--force/);
	t.true(fs.existsSync(instance.paths.db));
	t.is((await fetch(`${instance.url}/health`)).status, 200);
	const supervisor = instance.supervisorPid();
	const deleted = await instance.cli(['delete', instance.name, '--force']);
	t.is(deleted.exitCode, 0, deleted.stderr);
	t.false(fs.existsSync(instance.paths.dir));
	t.false(isAlive(supervisor));
});

test('token --regenerate takes effect in the running daemon without a restart', async t => {
	const instance = await startInstance(t);
	t.is((await instance.request('GET', '/status')).status, 200);
	const regenerated = await instance.cli([instance.name, 'token', '--regenerate']);
	t.is(regenerated.exitCode, 0);
	const fresh = regenerated.stdout.trim();
	t.regex(fresh, /^[\w-]{43}$/);
	t.not(fresh, instance.token);
	t.is((await instance.request('GET', '/status')).status, 401);
	t.is((await instance.request('GET', '/status', {token: fresh})).status, 200);
	t.is((await instance.cli([instance.name, 'token'])).stdout.trim(), fresh);
});

test('info masks the token unless --show-token; status and list report the running daemon', async t => {
	const instance = await startInstance(t);
	const info = JSON.parse((await instance.cli([instance.name, 'info', '--json'])).stdout);
	t.like(info, {name: instance.name, status: 'running', url: instance.url, db: instance.paths.db});
	t.regex(info.api_token, /^.{4}\*{39}$/);
	t.false(info.api_token.includes(instance.token.slice(4)));
	const shown = JSON.parse((await instance.cli([instance.name, 'info', '--json', '--show-token'])).stdout);
	t.is(shown.api_token, instance.token);
	const status = JSON.parse((await instance.cli(['status', instance.name, '--json'])).stdout);
	t.like(status, {status: 'running', healthy: true, url: instance.url, pid: instance.workerPid(), supervisor_pid: instance.supervisorPid(), restarts: 0});
	const listed = JSON.parse((await instance.cli(['list', '--json'])).stdout);
	t.like(listed[0], {name: instance.name, status: 'running', pending_messages: 0, url: instance.url});
});

test('logs -n prints the tail of the daemon log and -f follows new lines', async t => {
	const instance = await startInstance(t);
	const tail = await instance.cli([instance.name, 'logs', '-n', '2']);
	t.is(tail.exitCode, 0);
	t.is(tail.stdout.trim().split('\n').length, 2);
	t.regex(tail.stdout, /ready on/);
	const follower = execa(process.execPath, [BIN, instance.name, 'logs', '-f', '-n', '0'], {env: {MAIL_PROXY_HOME: instance.home}, reject: false});
	t.teardown(() => follower.kill('SIGKILL'));
	let seen = '';
	follower.stdout!.on('data', chunk => (seen += String(chunk)));
	await new Promise(resolve => setTimeout(resolve, 300));
	await instance.cli(['stop', instance.name]);
	await waitFor(() => seen.includes('stopped'), {what: 'followed log lines'});
	t.regex(seen, /draining/);
	follower.kill('SIGINT');
});

test('start --foreground runs attached and stops cleanly on SIGTERM', async t => {
	const home = tempHome(t);
	const port = await freePort();
	const child = execa(process.execPath, [BIN, 'start', 'fg', '--foreground', '--port', String(port)], {env: {MAIL_PROXY_HOME: home}, reject: false});
	let output = '';
	child.stdout!.on('data', chunk => (output += String(chunk)));
	child.stderr!.on('data', chunk => (output += String(chunk)));
	try {
		await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok, {what: 'foreground daemon', timeoutMs: 20_000});
		await waitFor(() => output.includes('ready on'), {what: 'the log on the terminal'});
	} catch (error) {
		t.log(output);
		t.log(fs.existsSync(instancePaths('fg', home).log) ? fs.readFileSync(instancePaths('fg', home).log, 'utf8') : 'no daemon log');
		throw error;
	}

	const paths = instancePaths('fg', home);
	t.true(fs.existsSync(paths.pidfile));
	child.kill('SIGTERM');
	const result = await child;
	t.is(result.exitCode, 0);
	t.false(fs.existsSync(paths.pidfile));
});
