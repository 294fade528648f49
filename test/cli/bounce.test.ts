import {fileURLToPath} from 'node:url';
import test from 'ava';
import {cli} from '../helpers/cli.js';
import {startInstance} from '../helpers/daemon.js';
import {snapshot} from '../helpers/db.js';
import {deliverySetup} from '../helpers/delivery.js';
import {startDovecot} from '../helpers/dovecot.js';
import {tempHome, waitFor} from '../helpers/home.js';
import {deliveryStatusNotice, headersOf} from '../helpers/notices.js';
import {terminal} from '../helpers/pty.js';

const fixture = (path: string) => fileURLToPath(new URL(`../../../test/fixtures/${path}`, import.meta.url));
const TEST_MODE = {GMP_TEST_MODE: 'true'};

test('parse-bounce prints what the parser found, per recipient, with the correlation headers', async t => {
	const home = tempHome(t);
	const text = await cli(home, ['parse-bounce', fixture('bounces-extra/postfix-virtual-unknown.eml')]);
	t.is(text.exitCode, 0, text.stderr);
	t.regex(text.stdout, /bounce\s+yes \(delivery status report\)/);
	t.regex(text.stdout, /message pk\s+ZABCDEFGHIJKLMNOPQRSTU/);
	t.regex(text.stdout, /message id\s+order-77/);
	t.regex(text.stdout, /nobody@example\.org\s+failed\s+5\.1\.1\s+550\s+userunknown\s+hard/);

	const json = await cli(home, ['parse-bounce', fixture('bounces-extra/google-over-quota.eml'), '--json']);
	t.is(json.exitCode, 0, json.stderr);
	const report = JSON.parse(json.stdout);
	t.deepEqual(Object.keys(report), ['is_bounce', 'kind', 'not_bounce', 'recipients', 'correlation', 'dsn_message_id']);
	t.like(report, {is_bounce: true, not_bounce: null});
	t.deepEqual(Object.keys(report.recipients[0]), ['recipient', 'action', 'status', 'reply_code', 'reason', 'hard', 'diagnostic']);
	t.like(report.recipients[0], {action: 'failed', reason: 'mailboxfull', hard: false});
	t.deepEqual(Object.keys(report.correlation), ['pk', 'id', 'message_id']);

	const complaint = JSON.parse((await cli(home, ['parse-bounce', fixture('bounces/arf-01.eml'), '--json'])).stdout);
	t.like(complaint, {is_bounce: false, kind: null, not_bounce: 'feedback-report', recipients: []});
	const auto = await cli(home, ['parse-bounce', fixture('bounces-extra/auto-reply-travelling.eml')]);
	t.regex(auto.stdout, /an auto-reply, not a bounce/);
});

test('parse-bounce: a missing file is one line and exit 1; no file is a usage error', async t => {
	const home = tempHome(t);
	const missing = await cli(home, ['parse-bounce', '/nonexistent/notice.eml']);
	t.is(missing.exitCode, 1);
	t.is(missing.stderr.trim(), 'mail-proxy: cannot read /nonexistent/notice.eml: ENOENT');
	const none = await cli(home, ['parse-bounce']);
	t.is(none.exitCode, 2);
	t.is(none.stderr.trim().split('\n').length, 1);
});

test('config bounce without a terminal: missing values and bad values are refused naming the flag, changing nothing', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	const before = snapshot(instance.paths);
	const missing = await instance.cli([instance.name, 'config', 'bounce', '--host', 'imap.acme.example']);
	t.is(missing.exitCode, 2);
	t.is(missing.stderr.trim(), 'mail-proxy: missing --user, --password (no terminal to ask)');
	const interval = await instance.cli([instance.name, 'config', 'bounce', '--host', 'h', '--user', 'u', '--password', 'p', '--interval', '5']);
	t.is(interval.exitCode, 2);
	t.is(interval.stderr.trim(), 'mail-proxy: --interval: Input should be greater than or equal to 10');
	const returnPath = await instance.cli([instance.name, 'config', 'bounce', '--host', 'h', '--user', 'u', '--password', 'p', '--return-path', 'not an address']);
	t.is(returnPath.exitCode, 2);
	t.regex(returnPath.stderr, /^mail-proxy: --return-path: must be an e-mail address/);
	t.is(snapshot(instance.paths), before);

	const saved = await instance.cli([instance.name, 'config', 'bounce', '--host', 'imap.acme.example', '--user', 'bounces', '--password', 'pw', '--no-tls', '--return-path', 'bounces@acme.example', '--json']);
	t.is(saved.exitCode, 0, saved.stderr);
	const settings = JSON.parse(saved.stdout);
	t.like(settings, {bounce_enabled: true, bounce_imap_host: 'imap.acme.example', bounce_imap_port: 143, bounce_imap_ssl: false, bounce_imap_user: 'bounces', bounce_imap_folder: 'INBOX', bounce_poll_interval: 60, bounce_return_path: 'bounces@acme.example'});
	t.false('bounce_imap_password' in settings);
	t.like((await instance.request('GET', '/instance')).body, {bounce_enabled: true, bounce_imap_host: 'imap.acme.example'});

	const disabled = await instance.cli([instance.name, 'config', 'bounce', '--disable']);
	t.is(disabled.stdout.trim(), 'bounce mailbox: disabled');
	const kept = (await instance.request('GET', '/instance')).body;
	t.like(kept, {bounce_enabled: false, bounce_imap_host: 'imap.acme.example'}, 'disabling keeps the settings');
	const again = await instance.cli([instance.name, 'config', 'bounce', '--return-path', '']);
	t.is(again.stdout.trim(), 'bounce mailbox: bounces@imap.acme.example:143 INBOX, every 60s', 'enabled again with the stored settings (password kept)');
	t.false('bounce_return_path' in (await instance.request('GET', '/instance')).body, '"" clears the return path (null fields are omitted)');
});

test('config bounce on a running daemon starts reading the mailbox at once; another folder starts from its beginning', async t => {
	const dovecot = await startDovecot(t, {bounces: 'pw'});
	const delivery = await deliverySetup(t);
	await delivery.enqueue([{id: 'lost', to: ['gone@example.org']}]);
	const sent = await delivery.waitStatus('lost', 'sent');
	const raw = delivery.sink.received.find(item => item.raw.toString().includes(sent['pk']))!.raw;
	await dovecot.append('bounces', deliveryStatusNotice(headersOf(raw), {recipient: 'gone@example.org', status: '5.1.1', diagnostic: '550 5.1.1 user unknown'}));

	const configured = await delivery.instance.cli([delivery.instance.name, 'config', 'bounce', '--host', '127.0.0.1', '--port', String(dovecot.port), '--user', 'bounces', '--password', 'pw', '--no-tls']);
	t.is(configured.exitCode, 0, configured.stderr);
	await delivery.waitStatus('lost', 'bounced');
	t.is((await delivery.instance.request('GET', '/instance')).body.bounce_last_uid, 1);

	await dovecot.append('bounces', 'Subject: first of another folder\r\n\r\nhello\r\n', 'Archive');
	await delivery.instance.cli([delivery.instance.name, 'config', 'bounce', '--folder', 'Archive']);
	await waitFor(async () => {
		const settings = (await delivery.instance.request('GET', '/instance')).body;
		return settings.bounce_imap_folder === 'Archive' && settings.bounce_last_uid === 1 && settings.bounce_last_sync !== null;
	}, {what: 'the Archive folder read from UID 1'});
	const shown = await delivery.instance.cli([delivery.instance.name, 'config', 'show']);
	t.regex(shown.stdout, /bounce\s+bounces@127\.0\.0\.1:\d+ Archive, every 60s/);
	t.regex(shown.stdout, /bounce position\s+uid 1, read \d{4}-/);
});

test('config bounce in a terminal asks for what is missing, masking the password', async t => {
	const instance = await startInstance(t, {env: TEST_MODE});
	const term = terminal(t, instance.home, [instance.name, 'config', 'bounce', '--interval', '30']);
	await term.waitFor(/\? IMAP host:/);
	term.write('imap.acme.example\r');
	await term.waitFor(/\? TLS \(implicit, port 993\) \(yes\):/);
	term.write('\r');
	await term.waitFor(/\? IMAP port \[empty = 993 with TLS, 143 without\]:/);
	term.write('\r');
	await term.waitFor(/\? User:/);
	term.write('bounces\r');
	await term.waitFor(/\? Password:/);
	term.mark();
	term.write('imap-pw-1');
	const masked = await term.waitFor(/\*{9}/);
	t.false(masked.includes('imap-pw-1'));
	term.write('\r');
	await term.waitFor(/\? Folder \(INBOX\):/);
	term.write('Bounces\r');
	await term.waitFor(/\? Return path/);
	term.write('\r');
	await term.waitFor(/bounce mailbox: bounces@imap\.acme\.example:993 Bounces \(TLS\), every 30s/);
	t.is(await term.exited, 0);
	t.false(term.output().includes('imap-pw-1'));
	const {openStore} = await import('../../source/shared/db/store.js');
	const store = openStore(instance.paths, {migrate: false});
	t.like(store.instance.get(), {bounce_enabled: true, bounce_imap_host: 'imap.acme.example', bounce_imap_port: 993, bounce_imap_ssl: true, bounce_imap_password: 'imap-pw-1', bounce_imap_folder: 'Bounces', bounce_poll_interval: 30});
	store.close();
});
