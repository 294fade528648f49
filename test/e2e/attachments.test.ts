import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import test from 'ava';
import {simpleParser} from 'mailparser';
import {deliverySetup} from '../helpers/delivery.js';
import {httpReceiver, type Answer} from '../helpers/receiver.js';
import {headersOf} from '../helpers/smtp-sink.js';

const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), crypto.randomBytes(40_000), Buffer.from('\n%%EOF\n')]);
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), crypto.randomBytes(3000)]);

function tempDir(t: Parameters<typeof deliverySetup>[0], prefix: string): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
	t.teardown(() => fs.rmSync(dir, {recursive: true, force: true}));
	return dir;
}

test('every attachment mode delivers the exact bytes with the right filename and type', async t => {
	const files = tempDir(t, 'mail-proxy-attachments-');
	fs.writeFileSync(path.join(files, 'report.csv'), 'a,b\n1,2\n');
	const web = await httpReceiver(t, (request): Answer => {
		if (request.url === '/files/photo.png') {
			return {status: 200, headers: {'Content-Type': 'image/png'}, body: PNG};
		}

		if (request.url === '/redirect') {
			return {status: 302, headers: {Location: '/files/photo.png'}};
		}

		if (request.url === '/mail-proxy/attachments') {
			return {status: 200, headers: {'Content-Type': 'application/pdf'}, body: PDF};
		}

		return {status: 404};
	});
	const {enqueue, waitStatus, sink} = await deliverySetup(t, {
		env: {GMP_ATTACHMENT_BASE_DIR: files},
		tenant: {client_base_url: web.url, client_auth: {method: 'bearer', token: 'app-token'}, client_signing_secret: 'sixteen-chars-secret'},
	});
	await enqueue([
		{
			id: 'all-modes',
			attachments: [
				{filename: 'note_{MD5:5d41402abc4b2a76b9719d911017c592}.txt', storage_path: 'base64:aGVsbG8='},
				{filename: 'photo.png', storage_path: `${web.url}/redirect`},
				{filename: 'invoice.pdf', storage_path: 'doc_id=1001'},
				{filename: 'report.csv', storage_path: 'report.csv', fetch_mode: 'filesystem'},
				{filename: 'data.bin', storage_path: 'AAECAwQ', fetch_mode: 'base64', mime_type: 'application/x-custom'},
			],
		},
	]);
	await waitStatus('all-modes', 'sent');
	const parsed = await simpleParser(sink.received[0]!.raw);
	const byName = new Map(parsed.attachments.map(attachment => [attachment.filename, attachment]));
	t.deepEqual([...byName.keys()].sort(), ['data.bin', 'invoice.pdf', 'note.txt', 'photo.png', 'report.csv']);
	t.is(byName.get('note.txt')!.content.toString(), 'hello', 'base64 data, MD5 marker removed from the name');
	t.is(byName.get('note.txt')!.contentType, 'text/plain');
	t.true(byName.get('photo.png')!.content.equals(PNG), 'http_url bytes, after a redirect');
	t.is(byName.get('photo.png')!.contentType, 'image/png');
	t.true(byName.get('invoice.pdf')!.content.equals(PDF), 'endpoint bytes');
	t.is(byName.get('invoice.pdf')!.contentType, 'application/pdf');
	t.is(byName.get('report.csv')!.content.toString(), 'a,b\n1,2\n', 'filesystem bytes');
	t.is(byName.get('report.csv')!.contentType, 'text/csv');
	t.deepEqual([...byName.get('data.bin')!.content], [0, 1, 2, 3, 4], 'missing base64 padding repaired');
	t.is(byName.get('data.bin')!.contentType, 'application/x-custom', 'mime_type wins');
	for (const attachment of parsed.attachments) {
		t.is(attachment.contentDisposition, 'attachment');
	}

	const endpointCall = web.requests.find(request => request.url === '/mail-proxy/attachments')!;
	t.is(endpointCall.method, 'POST');
	t.deepEqual(JSON.parse(endpointCall.body.toString()), {storage_path: 'doc_id=1001'});
	t.is(endpointCall.headers['authorization'], 'Bearer app-token');
	const timestamp = endpointCall.headers['x-mail-proxy-timestamp'] as string;
	const expected = crypto.createHmac('sha256', 'sixteen-chars-secret').update(`${timestamp}.${endpointCall.body.toString()}`).digest('hex');
	t.is(endpointCall.headers['x-mail-proxy-signature'], `sha256=${expected}`);
	const sameOrigin = web.requests.find(request => request.url === '/redirect')!;
	t.is(sameOrigin.headers['authorization'], 'Bearer app-token', 'tenant credentials go to the tenant origin');
});

test('filesystem attachments: traversal and symlink escapes are refused, naming the file', async t => {
	const base = tempDir(t, 'mail-proxy-base-');
	const outside = tempDir(t, 'mail-proxy-outside-');
	fs.writeFileSync(path.join(outside, 'secret.txt'), 'top secret');
	fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(base, 'link.txt'));
	fs.mkdirSync(path.join(base, 'sub'));
	fs.writeFileSync(path.join(base, 'sub', 'ok.txt'), 'fine');
	const {enqueue, waitStatus, sink} = await deliverySetup(t, {env: {GMP_ATTACHMENT_BASE_DIR: base}});
	await enqueue([
		{id: 'traversal', attachments: [{filename: 'secret.txt', storage_path: '../' + path.basename(outside) + '/secret.txt', fetch_mode: 'filesystem'}]},
		{id: 'symlink', attachments: [{filename: 'link.txt', storage_path: 'link.txt', fetch_mode: 'filesystem'}]},
		{id: 'absolute', attachments: [{filename: 'passwd', storage_path: '/etc/passwd'}]},
		{id: 'missing', attachments: [{filename: 'nope.txt', storage_path: 'nope.txt', fetch_mode: 'filesystem'}]},
		{id: 'directory', attachments: [{filename: 'sub', storage_path: 'sub', fetch_mode: 'filesystem'}]},
		{id: 'inside', attachments: [{filename: 'ok.txt', storage_path: 'sub/../sub/ok.txt', fetch_mode: 'filesystem'}]},
	]);
	for (const [id, message] of [
		['traversal', 'Attachment fetch failed for secret.txt: path outside the attachment directory'],
		['symlink', 'Attachment fetch failed for link.txt: path outside the attachment directory'],
		['absolute', 'Attachment fetch failed for passwd: path outside the attachment directory'],
		['missing', 'Attachment fetch failed for nope.txt: file not found'],
		['directory', 'Attachment fetch failed for sub: not a regular file'],
	] as const) {
		const failed = await waitStatus(id, 'error');
		t.is(failed.error, message, id);
		t.is(failed.history.length, 1, `${id}: permanent, not retried`);
	}

	await waitStatus('inside', 'sent');
	t.is(sink.received.length, 1);
	t.false(sink.received[0]!.raw.toString().includes('top secret'));
});

test('attachment failures: 4xx permanent, 5xx temporary, size cap, disabled filesystem, no endpoint, bad base64, empty', async t => {
	let failures = 1;
	const web = await httpReceiver(t, (request): Answer => {
		if (request.url === '/gone') {
			return {status: 404};
		}

		if (request.url === '/flaky') {
			return failures-- > 0 ? {status: 503} : {status: 200, headers: {'Content-Type': 'text/plain'}, body: 'recovered'};
		}

		if (request.url === '/huge') {
			return {status: 200, body: Buffer.alloc(200_000, 1)};
		}

		if (request.url === '/empty') {
			return {status: 200, body: ''};
		}

		return {status: 500};
	});
	const {enqueue, waitStatus} = await deliverySetup(t, {env: {GMP_ATTACHMENT_MAX_MB: '0.1'}, retryDelays: [1]});
	await enqueue([
		{id: 'gone', attachments: [{filename: 'a.pdf', storage_path: `${web.url}/gone`}]},
		{id: 'flaky', attachments: [{filename: 'b.txt', storage_path: `${web.url}/flaky`}]},
		{id: 'huge', attachments: [{filename: 'c.bin', storage_path: `${web.url}/huge`}]},
		{id: 'fs', attachments: [{filename: 'd.txt', storage_path: '/tmp/x.txt'}]},
		{id: 'endpoint', attachments: [{filename: 'e.pdf', storage_path: 'doc=1'}]},
		{id: 'bad64', attachments: [{filename: 'f.bin', storage_path: 'base64:@@@not base64@@@'}]},
		{id: 'empty', attachments: [{filename: 'g.txt', storage_path: `${web.url}/empty`}]},
	]);
	t.is((await waitStatus('gone', 'error')).error, 'Attachment fetch failed for a.pdf: HTTP 404');
	t.is((await waitStatus('huge', 'error')).error, 'Attachment c.bin exceeds maximum size (0 MiB)');
	t.is((await waitStatus('fs', 'error')).error, 'Filesystem attachments are disabled');
	t.is((await waitStatus('endpoint', 'error')).error, 'No attachment endpoint configured for tenant');
	t.is((await waitStatus('bad64', 'error')).error, 'Attachment fetch failed for f.bin: invalid base64 data');
	t.is((await waitStatus('empty', 'error')).error, 'Attachment g.txt returned no data');
	const flaky = await waitStatus('flaky', 'sent', 10_000);
	t.deepEqual(flaky.history.map((h: {event_type: string; description: string}) => [h.event_type, h.description]), [
		['deferred', 'Attachment fetch failed for b.txt: HTTP 503'],
		['sent', undefined],
	]);
});

test('a raw .eml sent from the CLI reaches the server byte for byte, with the tracking headers prepended and Bcc removed', async t => {
	const file = fileURLToPath(new URL('../../../test/fixtures/invoice.eml', import.meta.url));
	const {instance, sink, waitStatus} = await deliverySetup(t);
	const sent = await instance.cli([instance.name, 'acme', 'send', file, '--id', 'raw-1']);
	t.is(sent.exitCode, 0, sent.stderr);
	const done = await waitStatus('raw-1', 'sent');
	const original = fs.readFileSync(file);
	const received = sink.received[0]!.raw;
	const headers = headersOf(received);
	t.deepEqual(headers.get('x-genro-mail-id'), ['raw-1']);
	t.deepEqual(headers.get('x-genro-mail-pk'), [done['pk']]);
	t.false(headers.has('bcc'));
	t.deepEqual(headers.get('message-id'), ['<invoice-42@acme.example>'], 'an existing Message-ID is kept');
	const body = (buffer: Buffer) => buffer.subarray(buffer.indexOf('\r\n\r\n'));
	t.true(body(received).equals(body(original)), 'the body (every part and attachment) is untouched');
	t.is(sink.received[0]!.from, 'bounces@acme.example');
	t.deepEqual(sink.received[0]!.to, ['ann@example.org', 'bob@example.org', 'carol@example.org', 'audit@acme.example']);
});
