import fs from 'node:fs';
export type Row = {section: string; metric: string; value: number; unit: string; target?: string; ok?: boolean};

export function percentile(sorted: number[], p: number): number {
	if (sorted.length === 0) {
		return Number.NaN;
	}

	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function stats(samples: number[]): {p50: number; p99: number; mean: number} {
	const sorted = [...samples].sort((a, b) => a - b);
	return {p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean: samples.reduce((a, b) => a + b, 0) / samples.length};
}

/** Resident set size of a process in MiB (from /proc). */
export function rssMiB(pid: number): number {
	const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8') as string;
	const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
	return kb / 1024;
}

export function round(value: number, digits = 2): number {
	const factor = 10 ** digits;
	return Math.round(value * factor) / factor;
}
