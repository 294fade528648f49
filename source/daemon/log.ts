import fs from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = {debug: 10, info: 20, warn: 30, error: 40};

export type Logger = {
	debug(message: string): void;
	info(message: string): void;
	warn(message: string): void;
	error(message: string): void;
	child(component: string): Logger;
};

export function formatLine(level: Level, component: string, message: string, now = new Date()): string {
	return `${now.toISOString()} ${level.toUpperCase().padEnd(5)} ${component}: ${message.replaceAll('\n', '\n    ')}\n`;
}

/** A logger writing formatted lines to `sink` (the worker's stdout, read by the supervisor). */
export function createLogger(sink: (line: string) => void, minLevel: Level = 'info', component = 'worker'): Logger {
	const make = (name: string): Logger => {
		const write = (level: Level) => (message: string) => {
			if (ORDER[level] >= ORDER[minLevel]) {
				sink(formatLine(level, name, message));
			}
		};

		return {debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), child: sub => make(`${name}/${sub}`)};
	};

	return make(component);
}

/**
 * The daemon log, written only by the supervisor (one writer, so rotation is safe): appended to
 * `daemon.log`, rotated to `daemon.log.1..3` past `maxBytes`.
 */
export class RotatingLog {
	#fd: number;
	#size: number;

	constructor(private readonly file: string, private readonly options: {maxBytes?: number; keep?: number; echo?: (line: string) => void} = {}) {
		this.#fd = fs.openSync(file, 'a', 0o600);
		this.#size = fs.fstatSync(this.#fd).size;
	}

	write(text: string): void {
		const buffer = Buffer.from(text);
		fs.writeSync(this.#fd, buffer);
		this.#size += buffer.length;
		this.options.echo?.(text);
		if (this.#size >= (this.options.maxBytes ?? 10 * 1024 * 1024)) {
			this.#rotate();
		}
	}

	close(): void {
		fs.closeSync(this.#fd);
	}

	#rotate(): void {
		const keep = this.options.keep ?? 3;
		fs.closeSync(this.#fd);
		for (let index = keep - 1; index >= 1; index--) {
			try {
				fs.renameSync(`${this.file}.${index}`, `${this.file}.${index + 1}`);
			} catch {}
		}

		fs.renameSync(this.file, `${this.file}.1`);
		this.#fd = fs.openSync(this.file, 'a', 0o600);
		this.#size = 0;
	}
}

/** Splits a byte stream into lines and hands each complete line to `onLine` (newline included). */
export function lineSplitter(onLine: (line: string) => void): (chunk: Buffer | string) => void {
	let pending = '';
	return chunk => {
		pending += chunk.toString();
		let index: number;
		while ((index = pending.indexOf('\n')) !== -1) {
			onLine(pending.slice(0, index + 1));
			pending = pending.slice(index + 1);
		}
	};
}
