/** Rendering for the CLI: JSON (stable shapes), CSV, and tables that fit the terminal. */

export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
	return Boolean(stream.isTTY) && !process.env['NO_COLOR'] && process.env['TERM'] !== 'dumb';
}

const codes = {bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39]} as const;

export function paint(style: keyof typeof codes, text: string, stream: NodeJS.WriteStream = process.stdout): string {
	if (!useColor(stream)) {
		return text;
	}

	const [open, close] = codes[style];
	return `\u001B[${open}m${text}\u001B[${close}m`;
}

export function printJson(value: unknown): void {
	process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export type Column<T> = {header: string; value: (row: T) => string | number | boolean | null | undefined};

function cell(value: string | number | boolean | null | undefined): string {
	return value === null || value === undefined ? '' : String(value);
}

/** A plain-text table; when wider than the terminal, the widest columns are shortened with an ellipsis. */
export function renderTable<T>(rows: T[], columns: Array<Column<T>>, width = process.stdout.columns ?? 0): string {
	const body = rows.map(row => columns.map(column => cell(column.value(row)).replaceAll(/\s+/g, ' ')));
	const widths = columns.map((column, index) => Math.max(column.header.length, ...body.map(line => line[index]!.length)));
	const gap = 2;
	if (width > 0) {
		let total = widths.reduce((a, b) => a + b, 0) + gap * (widths.length - 1);
		while (total > width) {
			const widest = widths.indexOf(Math.max(...widths));
			if (widths[widest]! <= 8) {
				break;
			}

			widths[widest]!--;
			total--;
		}
	}

	const fit = (text: string, size: number) => (text.length > size ? text.slice(0, Math.max(0, size - 1)) + '…' : text.padEnd(size));
	const line = (cells: string[]) => cells.map((text, index) => fit(text, widths[index]!)).join(' '.repeat(gap)).trimEnd();
	const header = line(columns.map(column => column.header));
	return [paint('bold', header), ...body.map(cells => line(cells))].join('\n') + '\n';
}

export function printTable<T>(rows: T[], columns: Array<Column<T>>, empty = 'nothing to show'): void {
	if (rows.length === 0) {
		process.stdout.write(paint('dim', empty) + '\n');
		return;
	}

	process.stdout.write(renderTable(rows, columns));
}

function csvCell(value: string | number | boolean | null | undefined): string {
	const text = cell(value);
	return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function renderCsv<T>(rows: T[], columns: Array<Column<T>>): string {
	return [columns.map(column => csvCell(column.header)).join(','), ...rows.map(row => columns.map(column => csvCell(column.value(row))).join(','))].join('\n') + '\n';
}

/** `key  value` lines for a single record. */
export function printFields(fields: Array<[string, string | number | boolean | null | undefined]>): void {
	const width = Math.max(...fields.map(([key]) => key.length));
	for (const [key, value] of fields) {
		process.stdout.write(`${paint('dim', key.padEnd(width))}  ${cell(value)}\n`);
	}
}

export function formatDuration(seconds: number): string {
	if (seconds < 60) {
		return `${seconds}s`;
	}

	if (seconds < 3600) {
		return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
	}

	if (seconds < 86_400) {
		return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
	}

	return `${Math.floor(seconds / 86_400)}d${String(Math.floor((seconds % 86_400) / 3600)).padStart(2, '0')}h`;
}

/** A spinner on stderr, shown only for waits longer than ~300 ms and only when stderr is a terminal. */
export function spinner(text: string): {stop(): void} {
	if (!process.stderr.isTTY) {
		return {stop() {}};
	}

	const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
	let index = 0;
	let timer: NodeJS.Timeout | undefined;
	const delay = setTimeout(() => {
		timer = setInterval(() => process.stderr.write(`\r${frames[index++ % frames.length]} ${text}`), 80);
	}, 300);
	return {
		stop() {
			clearTimeout(delay);
			if (timer) {
				clearInterval(timer);
				process.stderr.write('\r\u001B[2K');
			}
		},
	};
}
