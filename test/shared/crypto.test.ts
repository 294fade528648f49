import test from 'ava';
import {newKey, newToken, SecretBox, tokensEqual} from '../../source/shared/crypto.js';
import {redactedJson} from '../../source/shared/redact.js';
import {cli} from '../helpers/cli.js';
import {startInstance} from '../helpers/daemon.js';

test('AES-256-GCM round trip; the value is bound to its column and to the key', t => {
	const box = new SecretBox(newKey());
	const stored = box.encrypt('hunter2', 'accounts.password');
	t.regex(stored, /^ENC:/);
	t.not(box.encrypt('hunter2', 'accounts.password'), stored, 'a fresh nonce each time');
	t.is(box.decrypt(stored, 'accounts.password'), 'hunter2');
	t.throws(() => box.decrypt(stored, 'tenants.client_auth'), undefined, 'moved to another column');
	t.throws(() => new SecretBox(newKey()).decrypt(stored, 'accounts.password'), undefined, 'another key');
	t.false(new SecretBox(newKey()).verifyCheck(box.makeCheck()));
	t.true(box.verifyCheck(box.makeCheck()));
});

test('tokens are 43 URL-safe characters and compare in constant time by digest', t => {
	const token = newToken();
	t.regex(token, /^[\w-]{43}$/);
	t.true(tokensEqual(token, token));
	t.false(tokensEqual(token, token.slice(0, -1)));
});

test('redaction masks every secret field and large inline attachment data', t => {
	const redacted = JSON.parse(redactedJson({
		password: 'p',
		imap_password: 'i',
		client_auth: {method: 'basic', user: 'u', password: 'x', token: null},
		client_signing_secret: 's',
		api_token: 'a',
		bounce_imap_password: 'b',
		messages: [{body: 'private words', attachments: [{filename: 'f', storage_path: 'base64:' + 'A'.repeat(2000), auth: {method: 'bearer', token: 't'}}, {filename: 'g', storage_path: 'https://x/y'}]}],
	}, {body: body => `<${String(body).length} characters>`}));
	t.like(redacted, {password: '***', imap_password: '***', client_signing_secret: '***', api_token: '***', bounce_imap_password: '***'});
	t.deepEqual(redacted.client_auth, {method: 'basic', user: 'u', password: '***', token: null});
	t.is(redacted.messages[0].attachments[0].storage_path, 'base64:<redacted 2000 bytes>');
	t.is(redacted.messages[0].attachments[0].auth.token, '***');
	t.is(redacted.messages[0].attachments[1].storage_path, 'https://x/y');
	t.is(redacted.messages[0].body, '<13 characters>');
});

test('a daemon started with the wrong encryption key refuses to start, naming the reason', async t => {
	const instance = await startInstance(t);
	await instance.cli(['stop', instance.name]);
	const result = await cli(instance.home, ['start', instance.name], {env: {MAIL_PROXY_ENCRYPTION_KEY: newKey().toString('base64')}});
	t.is(result.exitCode, 1);
	t.regex(result.stderr, /encryption key does not match/);
	t.is((await cli(instance.home, ['start', instance.name])).exitCode, 0, 'with the right key it starts');
});
