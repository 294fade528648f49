import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type {ExecutionContext} from 'ava';

/** Pids of live processes whose command line mentions `text` (our daemons carry their home in argv). */
export function processesMentioning(text: string): number[] {
	const pids: number[] = [];
	for (const entry of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(entry) || Number(entry) === process.pid) {
			continue;
		}

		try {
			const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
			if (cmdline.split('\0').includes(text)) {
				pids.push(Number(entry));
			}
		} catch {}
	}

	return pids;
}

export function killAll(pids: number[]): void {
	for (const pid of pids) {
		try {
			process.kill(pid, 'SIGKILL');
		} catch {}
	}
}

const homes = new Set<string>();

// A test that times out never runs its teardown: whatever it started dies with this test process.
process.on('exit', () => {
	for (const home of homes) {
		killAll(processesMentioning(home));
		fs.rmSync(home, {recursive: true, force: true});
	}
});

/** A temporary MAIL_PROXY_HOME; teardown kills every daemon started under it and removes it. */
export function tempHome(t: ExecutionContext): string {
	const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mail-proxy-test-'));
	homes.add(home);
	t.teardown(() => {
		homes.delete(home);
		killAll(processesMentioning(home));
		fs.rmSync(home, {recursive: true, force: true});
	});
	return home;
}

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address() as net.AddressInfo;
			server.close(() => resolve(address.port));
		});
	});
}

export async function waitFor<T>(check: () => T | Promise<T>, options: {timeoutMs?: number; intervalMs?: number; what?: string} = {}): Promise<NonNullable<T>> {
	const deadline = Date.now() + (options.timeoutMs ?? 10_000);
	for (;;) {
		const value = await check();
		if (value) {
			return value as NonNullable<T>;
		}

		if (Date.now() > deadline) {
			throw new Error(`timed out waiting for ${options.what ?? 'condition'}`);
		}

		await new Promise(resolve => setTimeout(resolve, options.intervalMs ?? 25));
	}
}
