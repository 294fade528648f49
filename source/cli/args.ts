import fs from 'node:fs';
import meow, {type AnyFlags, type Result} from 'meow';
import {failure, usageError} from '../shared/errors.js';

export type CommandSpec<F extends AnyFlags> = {
	/** Usage line(s) and description shown by `--help`. */
	help: string;
	flags: F;
	/** Positional arguments accepted: [min, max]. */
	args?: [number, number];
};

function kebab(name: string): string {
	return name.replaceAll(/[A-Z]/g, c => `-${c.toLowerCase()}`);
}

/**
 * Parses one command's arguments with meow. Unknown flags, missing or extra positionals and non-numeric
 * numbers are usage errors (exit 2) with one readable line; `--help` prints the command's help.
 */
export function parse<F extends AnyFlags>(argv: string[], spec: CommandSpec<F>): Result<F> {
	const known = new Map<string, {type: string}>();
	const shorts = new Set<string>();
	for (const [name, flag] of Object.entries(spec.flags)) {
		known.set(kebab(name), flag as {type: string});
		const short = (flag as {shortFlag?: string}).shortFlag;
		if (short) {
			shorts.add(short);
		}
	}

	for (const token of argv) {
		if (token === '--') {
			break;
		}

		if (token.startsWith('--')) {
			const name = token.slice(2).split('=')[0]!;
			const base = name.startsWith('no-') && known.get(name.slice(3))?.type === 'boolean' ? name.slice(3) : name;
			if (name !== 'help' && !known.has(base)) {
				throw usageError(`unknown flag --${name} (see --help)`);
			}
		} else if (/^-[A-Za-z]/.test(token)) {
			for (const letter of token.slice(1).split('=')[0]!) {
				if (!shorts.has(letter) && letter !== 'h') {
					throw usageError(`unknown flag -${letter} (see --help)`);
				}
			}
		}
	}

	const result = meow(spec.help, {
		importMeta: import.meta,
		argv,
		flags: spec.flags,
		allowUnknownFlags: true,
		autoVersion: false,
		description: false,
		helpIndent: 2,
		booleanDefault: undefined,
	});
	if (argv.includes('-h')) {
		result.showHelp(0);
	}

	for (const [name, flag] of Object.entries(spec.flags)) {
		const value = (result.flags as Record<string, unknown>)[name];
		if ((flag as {type: string}).type === 'number' && value !== undefined && !Number.isFinite(value as number)) {
			throw usageError(`--${kebab(name)} must be a number`);
		}
	}

	const [min, max] = spec.args ?? [0, 0];
	if (result.input.length < min) {
		throw usageError(`missing argument (usage: ${spec.help.trim().split('\n')[0]!.trim()})`);
	}

	if (result.input.length > max) {
		throw usageError(`unexpected argument '${result.input[max]}' (see --help)`);
	}

	return result;
}

/** The bytes of a file named on the command line; unreadable → a runtime failure (exit 1) naming it. */
export function readFileArgument(file: string): Buffer {
	try {
		return fs.readFileSync(file);
	} catch (error) {
		throw failure(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
	}
}
