import test from 'ava';
import {classify, DeliveryError, failureText, retryDelay} from '../../../source/daemon/dispatch/retry.js';

const smtp = (message: string, fields: Record<string, unknown>) => Object.assign(new Error(message), fields);

test('classification follows engine §7, first match wins', t => {
	const cases: Array<[unknown, boolean, number | undefined]> = [
		[smtp('451 4.7.1 later', {responseCode: 451, response: '451 4.7.1 later'}), true, 451],
		[smtp('550 5.1.1 unknown', {responseCode: 550, response: '550 5.1.1 unknown'}), false, 550],
		[smtp('535 auth', {responseCode: 535, code: 'EAUTH'}), false, 535],
		[smtp('Can not send mail to all recipients', {code: 'EENVELOPE', rejectedErrors: [{responseCode: 550}, {responseCode: 452}]}), true, 452],
		[smtp('Can not send mail to all recipients', {code: 'EENVELOPE', rejectedErrors: [{responseCode: 550}]}), false, 550],
		[smtp('self signed', {code: 'DEPTH_ZERO_SELF_SIGNED_CERT'}), false, undefined],
		[smtp('cert', {code: 'CERT_HAS_EXPIRED'}), false, undefined],
		[smtp('Invalid login', {code: 'EAUTH'}), false, undefined],
		[smtp('connect ECONNREFUSED 127.0.0.1:25', {code: 'ECONNREFUSED'}), true, undefined],
		[smtp('Connection timeout', {code: 'ETIMEDOUT'}), true, undefined],
		[new Error('server said 421 too busy'), true, undefined],
		[new Error('authentication failed somewhere'), false, undefined],
		[new Error('something odd'), true, undefined],
		[new DeliveryError('Attachment fetch failed for a.pdf: HTTP 404', false), false, undefined],
		[new DeliveryError('Attachment fetch failed for a.pdf: HTTP 503', true), true, undefined],
	];
	for (const [error, temporary, code] of cases) {
		const failure = classify(error);
		t.is(failure.temporary, temporary, (error as Error).message);
		t.is(failure.code, code, (error as Error).message);
	}

	t.is(failureText(classify(smtp('x', {responseCode: 451, response: '451 4.7.1 later'}))), '451 4.7.1 later (SMTP 451)');
});

test('retry delays: delays[min(n, len-1)] with ±10 % jitter, rounded', t => {
	const delays = [60, 300, 900, 3600, 7200];
	t.is(retryDelay(delays, 0, () => 0.5), 60);
	t.is(retryDelay(delays, 0, () => 0), 54);
	t.is(retryDelay(delays, 0, () => 0.999_999), 66);
	t.is(retryDelay(delays, 4, () => 0.5), 7200);
	t.is(retryDelay(delays, 9, () => 0.5), 7200, 'the last delay repeats');
	for (let index = 0; index < 200; index++) {
		const value = retryDelay(delays, 1);
		t.true(value >= 270 && value <= 330);
	}
});
