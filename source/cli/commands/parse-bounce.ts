import {parseBounce, type BounceReport} from '../../shared/bounce/parser.js';
import {parse, readFileArgument} from '../args.js';
import {paint, printFields, printJson, printTable} from '../output.js';

/** The documented JSON shape (man page, PARSE-BOUNCE OUTPUT). */
function asJson(report: BounceReport) {
	return {
		is_bounce: report.is_bounce,
		kind: report.kind,
		not_bounce: report.not_bounce ?? null,
		recipients: report.recipients.map(({recipient, action, status, reply_code, reason, hard, diagnostic}) => ({recipient, action, status, reply_code, reason, hard, diagnostic})),
		correlation: report.correlation,
		dsn_message_id: report.dsn_message_id,
	};
}

const WHY_NOT: Record<NonNullable<BounceReport['not_bounce']>, string> = {
	'feedback-report': 'a feedback (complaint) report, not a bounce',
	'auto-reply': 'an auto-reply, not a bounce',
	'not-a-bounce': 'no delivery status, no bounce wording: not a bounce',
};

/** `mail-proxy parse-bounce <file.eml> [--json]`: what the bounce poller would make of a message. */
export async function parseBounceFile(argv: string[]): Promise<number> {
	const {input, flags} = parse(argv, {
		help: `mail-proxy parse-bounce <file.eml> [--json]

Runs the bounce parser on a saved e-mail and prints what it found: bounce or not (and how it was
read), per recipient the address, action, status, SMTP reply code, reason and hard/soft, and the
correlation headers that tie it to a sent message. Exit 0 whether or not it is a bounce.`,
		flags: {json: {type: 'boolean'}},
		args: [1, 1],
	});
	const file = input[0]!;
	const raw = readFileArgument(file);

	const report = await parseBounce(raw);
	if (flags.json) {
		printJson(asJson(report));
		return 0;
	}

	const {pk, id, message_id: messageId} = report.correlation;
	printFields([
		['bounce', report.is_bounce ? paint('red', `yes (${report.kind === 'dsn' ? 'delivery status report' : report.kind === 'malformed-dsn' ? 'broken report, read from its text' : 'non-standard notice'})`) : WHY_NOT[report.not_bounce ?? 'not-a-bounce']],
		['message pk', pk ?? '(not found)'],
		['message id', id ?? '(not found)'],
		['Message-ID', messageId ?? '(not found)'],
	]);
	if (report.recipients.length > 0) {
		process.stdout.write('\n');
		printTable(report.recipients, [
			{header: 'RECIPIENT', value: r => r.recipient},
			{header: 'ACTION', value: r => r.action},
			{header: 'STATUS', value: r => r.status ?? '-'},
			{header: 'REPLY', value: r => r.reply_code ?? '-'},
			{header: 'REASON', value: r => r.reason},
			{header: 'TYPE', value: r => (r.hard ? paint('red', 'hard') : paint('yellow', 'soft'))},
			{header: 'DIAGNOSTIC', value: r => r.diagnostic?.replaceAll(/\s+/g, ' ') ?? ''},
		]);
	}

	return 0;
}
