import test from 'ava';
import Database from 'better-sqlite3';
import {latestVersion, migrate, migrations, type Migration} from '../../source/shared/db/migrations.js';

const version = (db: Database.Database) => Number((db.prepare("SELECT value FROM instance_config WHERE key = 'schema_version'").get() as {value: string}).value);

test('a new database gets every migration and records the latest version', t => {
	const db = new Database(':memory:');
	t.is(migrate(db), latestVersion);
	t.is(version(db), latestVersion);
	const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map(row => (row as {name: string}).name);
	for (const table of ['tenants', 'accounts', 'messages', 'message_events', 'send_log', 'command_log', 'instance', 'instance_config', 'large_files']) {
		t.true(tables.includes(table), table);
	}
});

test('pending migrations apply in order, once, and a failing one leaves the database unchanged', t => {
	const db = new Database(':memory:');
	migrate(db);
	const applied: number[] = [];
	const extra: Migration[] = [
		...migrations,
		{version: latestVersion + 2, name: 'second', up: d => (applied.push(2), d.exec('ALTER TABLE probe ADD COLUMN b TEXT'))},
		{version: latestVersion + 1, name: 'first', up: d => (applied.push(1), d.exec('CREATE TABLE probe (a TEXT)'))},
	];
	t.is(migrate(db, extra), latestVersion + 2);
	t.deepEqual(applied, [1, 2]);
	t.is(migrate(db, extra), latestVersion + 2);
	t.deepEqual(applied, [1, 2], 'nothing re-applied');

	const broken: Migration[] = [...extra, {version: latestVersion + 3, name: 'broken', up: d => (d.exec('CREATE TABLE half (x)'), d.exec('SYNTAX ERROR'))}];
	t.throws(() => migrate(db, broken), {any: true, message: /syntax error/});
	t.is(version(db), latestVersion + 2);
	t.is((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'").get() as {n: number}).n, 0);
});
