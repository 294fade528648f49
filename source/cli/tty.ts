import {usageError} from '../shared/errors.js';

/** Prompts appear only when both stdin and stdout are terminals. */
export function isInteractive(): boolean {
	return Boolean(process.stdin.isTTY && process.stdout.isTTY);
}

/** Destructive commands: `--force`, or an interactive yes; without a terminal, a usage error. */
export async function confirmOrForce(question: string, force: boolean | undefined, flagHint = '--force'): Promise<boolean> {
	if (force) {
		return true;
	}

	if (!isInteractive()) {
		throw usageError(`refusing without confirmation: pass ${flagHint} (no terminal to ask)`);
	}

	const {confirm} = await import('./ui/confirm.js');
	return confirm(question);
}
