import test from 'ava';
import {cleanFilename, fetchModeOf} from '../../../source/daemon/dispatch/attachments.js';
import {prepareRaw} from '../../../source/daemon/dispatch/mime.js';
import {tlsModeOf} from '../../../source/daemon/dispatch/smtp-pool.js';

test('TLS mode: tls_mode wins, then use_tls, then the port', t => {
	t.is(tlsModeOf({tls_mode: 'none', use_tls: true, port: 465}), 'none');
	t.is(tlsModeOf({tls_mode: null, use_tls: true, port: 465}), 'ssl');
	t.is(tlsModeOf({tls_mode: null, use_tls: true, port: 587}), 'starttls');
	t.is(tlsModeOf({tls_mode: null, use_tls: false, port: 465}), 'none');
	t.is(tlsModeOf({tls_mode: null, use_tls: null, port: 465}), 'ssl');
	t.is(tlsModeOf({tls_mode: null, use_tls: null, port: 25}), 'opportunistic');
});

test('attachment names and fetch modes', t => {
	t.deepEqual(cleanFilename('report_{MD5:AB12AB12AB12AB12AB12AB12AB12AB12}.pdf'), {name: 'report.pdf', md5: 'ab12ab12ab12ab12ab12ab12ab12ab12'});
	t.is(cleanFilename('a__b___c_.txt').name, 'a_b_c.txt');
	t.is(cleanFilename('_x_').name, 'x');
	t.is(fetchModeOf({storage_path: 'base64:AAA='}), 'base64');
	t.is(fetchModeOf({storage_path: 'https://x/y'}), 'http_url');
	t.is(fetchModeOf({storage_path: '/srv/files/a.pdf'}), 'filesystem');
	t.is(fetchModeOf({storage_path: 'doc_id=1'}), 'endpoint');
	t.is(fetchModeOf({storage_path: 'doc_id=1', fetch_mode: 'http_url'}), 'http_url');
});

test('a raw message keeps its bytes; tracking and Bcc lines are replaced; Date and Message-ID added only if missing', t => {
	const raw = Buffer.from('From: a@b.example\r\nBcc: hidden@x.example,\r\n other@x.example\r\nX-Genro-Mail-ID: spoofed\r\nSubject: hi\r\n\r\nBody line\r\nBcc: not a header\r\n');
	const out = prepareRaw(raw, 'm1', 'Zpk', 'a@b.example', new Date(Date.UTC(2026, 10, 24, 10, 0, 0))).toString();
	t.is(out, 'X-Genro-Mail-ID: m1\r\nX-Genro-Mail-PK: Zpk\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <Zpk@b.example>\r\nFrom: a@b.example\r\nSubject: hi\r\n\r\nBody line\r\nBcc: not a header\r\n');
	const withIds = prepareRaw(Buffer.from('Date: x\nMessage-ID: <a@b>\n\nbody'), 'm', 'Z', 'a@b.example', new Date());
	t.is(withIds.toString(), 'X-Genro-Mail-ID: m\nX-Genro-Mail-PK: Z\nDate: x\nMessage-ID: <a@b>\n\nbody');
});
