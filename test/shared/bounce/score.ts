import fs from 'node:fs';
import path from 'node:path';
import {parseBounce, type BounceReport} from '../../../source/shared/bounce/parser.js';

/** The shared bounce corpus (sisimai set-of-emails samples with labels; see its README and LICENSE). */
export const FIXTURES = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../../test/fixtures/bounces');

export type Label = {
	file: string;
	is_bounce: boolean;
	hard: boolean | null;
	status: string | null;
	reply_code: string | null;
	reason: string | null;
	recipient: string | null;
	action?: string;
	per_recipient?: Array<{recipient: string; status: string; reply_code: string | null; reason: string; hard: boolean}>;
};

export type Score = {files: number; bounces: number; isBounce: number; status: number; recipient: number; hard: number; reason: number; replyCode: number; action: number; perRecipient: number; perRecipientTotal: number; misses: string[]};

/** Runs the parser over every labelled sample and scores it against labels.json. */
export async function scoreFixtures(directory = FIXTURES): Promise<Score> {
	const labels = JSON.parse(fs.readFileSync(path.join(directory, 'labels.json'), 'utf8')) as Label[];
	const score: Score = {files: labels.length, bounces: 0, isBounce: 0, status: 0, recipient: 0, hard: 0, reason: 0, replyCode: 0, action: 0, perRecipient: 0, perRecipientTotal: 0, misses: []};
	for (const label of labels) {
		const report: BounceReport = await parseBounce(fs.readFileSync(path.join(directory, label.file)));
		if (report.is_bounce === label.is_bounce) {
			score.isBounce++;
		} else {
			score.misses.push(`${label.file}: is_bounce ${report.is_bounce}`);
		}

		if (!label.is_bounce) {
			continue;
		}

		score.bounces++;
		const first = report.recipients[0];
		const check = (field: 'status' | 'recipient' | 'hard' | 'reason' | 'replyCode' | 'action', got: unknown, want: unknown) => {
			const same = typeof want === 'string' && typeof got === 'string' ? got.toLowerCase() === want.toLowerCase() : got === want;
			if (same) {
				score[field]++;
			} else {
				score.misses.push(`${label.file}: ${field} ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`);
			}
		};

		check('status', first?.status ?? null, label.status);
		check('recipient', first?.recipient ?? null, label.recipient);
		check('hard', first?.hard ?? null, label.hard);
		check('reason', first?.reason ?? null, label.reason);
		check('replyCode', first?.reply_code ?? null, label.reply_code);
		check('action', first?.action ?? null, label.action ?? 'failed');
		// Notices about several recipients: every one must be found with its own status and kind.
		for (const expected of label.per_recipient ?? []) {
			score.perRecipientTotal++;
			const got = report.recipients.find(item => item.recipient.toLowerCase() === expected.recipient.toLowerCase());
			if (got && got.status === expected.status && got.hard === expected.hard) {
				score.perRecipient++;
			} else {
				score.misses.push(`${label.file}: recipient ${expected.recipient} ${JSON.stringify(got && {status: got.status, hard: got.hard})} ≠ ${JSON.stringify({status: expected.status, hard: expected.hard})}`);
			}
		}
	}

	return score;
}
