import type {ExecutionContext} from 'ava';
import pty from 'node-pty';
import {BIN} from './cli.js';

/** Strips ANSI escape sequences from terminal output. */
export function plain(text: string): string {
	return text.replaceAll(/\u001B\[[\d;?]*[A-Za-z]|\u001B\][^\u0007]*\u0007/g, '');
}

export type Terminal = {
	write(data: string): void;
	/** Waits until the (plain) output since the last mark matches. */
	waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
	/** Forget the output seen so far. */
	mark(): void;
	exited: Promise<number>;
	output(): string;
};

/**
 * Runs the CLI in a real pseudo-terminal, with CI=false so Ink renders every frame (as for a person).
 */
export function terminal(t: ExecutionContext, home: string, args: string[]): Terminal {
	const env: Record<string, string> = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (value !== undefined && key !== 'CI' && !key.startsWith('CI_')) {
			env[key] = value;
		}
	}

	const child = pty.spawn(process.execPath, [BIN, ...args], {name: 'xterm-256color', cols: 100, rows: 40, env: {...env, CI: 'false', MAIL_PROXY_HOME: home, TERM: 'xterm-256color'}});
	let all = '';
	let since = 0;
	child.onData(data => (all += data));
	const exited = new Promise<number>(resolve => child.onExit(({exitCode}) => resolve(exitCode)));
	t.teardown(() => {
		try {
			child.kill();
		} catch {}
	});
	return {
		write: data => child.write(data),
		mark() {
			since = all.length;
		},
		async waitFor(pattern, timeoutMs = 10_000) {
			const deadline = Date.now() + timeoutMs;
			while (Date.now() < deadline) {
				const text = plain(all.slice(since));
				if (pattern.test(text)) {
					return text;
				}

				await new Promise(resolve => setTimeout(resolve, 25));
			}

			throw new Error(`terminal never showed ${pattern}; last output:\n${plain(all.slice(since)).slice(-2000)}`);
		},
		exited,
		output: () => plain(all),
	};
}
