import {fileURLToPath} from 'node:url';
import {execa} from 'execa';

/** The built binary, run exactly as a user runs it. */
export const BIN = fileURLToPath(new URL('../../source/cli/index.js', import.meta.url));

export type CliResult = {exitCode: number; stdout: string; stderr: string; durationMs: number};

export async function cli(home: string, args: string[], options: {env?: Record<string, string>; input?: string; timeoutMs?: number} = {}): Promise<CliResult> {
	const started = performance.now();
	const result = await execa(process.execPath, [BIN, ...args], {
		env: {MAIL_PROXY_HOME: home, NO_COLOR: '1', ...options.env},
		input: options.input,
		stdin: options.input === undefined ? 'ignore' : undefined,
		reject: false,
		timeout: options.timeoutMs ?? 60_000,
	});
	return {exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr), durationMs: performance.now() - started};
}
