import test from 'ava';
import {RestartPolicy} from '../../source/daemon/restart-policy.js';

test('delays grow x1.5 from 100 ms and are capped at 15 s', t => {
	const policy = new RestartPolicy();
	const delays: number[] = [];
	for (let index = 0; index < 14; index++) {
		const decision = policy.onExit(5000);
		t.true(decision.restart);
		if (decision.restart) {
			delays.push(decision.delayMs);
		}
	}

	t.deepEqual(delays.slice(0, 4), [100, 150, 225, 338]);
	t.is(Math.max(...delays), 15_000);
	t.is(delays.at(-1), 15_000);
});

test('a worker that ran 30 s resets the delay', t => {
	const policy = new RestartPolicy();
	policy.onExit(5000);
	policy.onExit(5000);
	const decision = policy.onExit(30_000);
	t.deepEqual(decision, {restart: true, delayMs: 100});
});

test('16 fast crashes in a row (uptime < 1 s) make the supervisor give up', t => {
	const policy = new RestartPolicy();
	for (let index = 1; index < 16; index++) {
		t.true(policy.onExit(200).restart, `crash ${index} is retried`);
	}

	const decision = policy.onExit(200);
	t.false(decision.restart);
	if (!decision.restart) {
		t.regex(decision.reason, /16 times/);
	}
});

test('a run longer than the minimum uptime resets the fast-crash count', t => {
	const policy = new RestartPolicy();
	for (let index = 0; index < 15; index++) {
		policy.onExit(100);
	}

	policy.onExit(1500);
	t.is(policy.fastCrashes, 0);
	t.true(policy.onExit(100).restart);
});
