import test from 'ava';
import Database from 'better-sqlite3';
import {RateLimiter, windowStart, type Limits} from '../../../source/daemon/dispatch/rate-limit.js';
import {migrate} from '../../../source/shared/db/migrations.js';
import {Store} from '../../../source/shared/db/store.js';

function limiter() {
	const db = new Database(':memory:');
	migrate(db);
	const store = new Store(db, undefined);
	return {store, limiter: new RateLimiter(store)};
}

const limits = (account: Partial<Limits['account']> = {}, tenant: Partial<Limits['tenant']> = {}): Limits => ({
	tenantId: 't',
	accountId: 'a',
	account: {minute: null, hour: null, day: null, ...account},
	tenant: {hour: null, day: null, ...tenant},
});

test('windows are fixed and UTC-aligned', t => {
	t.is(windowStart(1_769_595_323, 'minute'), 1_769_595_300);
	t.is(windowStart(1_769_595_323, 'hour'), 1_769_594_400);
	t.is(windowStart(1_769_595_323, 'day'), 1_769_558_400);
});

test('reservations count against the limit; the hit says the scope, window and boundary', t => {
	const {limiter: rl} = limiter();
	const now = 1_769_595_323;
	const l = limits({minute: 2});
	const first = rl.reserve(l, now);
	t.true('reservation' in first);
	t.true('reservation' in rl.reserve(l, now));
	t.deepEqual(rl.reserve(l, now), {hit: {scope: 'account', window: 'minute', until: 1_769_595_360}});
	if ('reservation' in first) {
		rl.release(first.reservation);
	}

	t.true('reservation' in rl.reserve(l, now), 'a failed attempt frees its slot');
	t.true('reservation' in rl.reserve(l, now + 60), 'a new minute starts afresh: reservations belong to their window');
});

test('committed sends stay counted; sends already in the log count; tenant limits span accounts', t => {
	const {store, limiter: rl} = limiter();
	const now = 1_769_595_323;
	store.sendLog.insert('t', 'other', now - 10);
	const l = limits({}, {hour: 2});
	const slot = rl.reserve(l, now);
	if ('reservation' in slot) {
		rl.commit(slot.reservation);
	}

	t.deepEqual(rl.reserve(l, now), {hit: {scope: 'tenant', window: 'hour', until: 1_769_598_000}}, 'one logged send of another account + one committed');
	const unlimited = limits();
	for (let index = 0; index < 100; index++) {
		t.deepEqual(rl.reserve(unlimited, now), {reservation: {keys: []}}, 'no limits: nothing to count');
	}
});

test('the first hit in order decides: account minute, hour, day, then tenant', t => {
	const {limiter: rl} = limiter();
	const now = 1_769_595_323;
	const l = limits({minute: 1, hour: 1}, {hour: 1});
	rl.reserve(l, now);
	t.like(rl.reserve(l, now), {hit: {scope: 'account', window: 'minute'}});
});
