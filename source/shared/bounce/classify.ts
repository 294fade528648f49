/**
 * Why a message bounced (engine §12), from the enhanced status code, the SMTP reply and the diagnostic
 * text. Text wins over codes when it is specific: servers often send a generic code (5.0.0, 5.7.1, 550)
 * with a precise explanation. `hard` only when the address itself is permanently undeliverable.
 */

export const HARD_REASONS = new Set(['userunknown', 'hostunknown', 'hasmoved', 'notaccept']);

type Rule = [reason: string, pattern: RegExp];

/** Text rules in order: the first match decides. Written from common MTA and provider wording. */
const TEXT_RULES: Rule[] = [
	// The cause before its consequence: a message that "expired" because DNS failed is a network error.
	['networkerror', /dns (query|lookup|resolution) (failed|failure|error)|temporary (lookup|dns) failure/i],
	['policyviolation', /(rejected|refused|denied) (for|due to) policy|policy reasons|policy violation|violat\w* .*polic/i],
	['badreputation', /reputation|low sender score|poor (sending )?history|sender score|unexpected volume|user complaints/i],
	['expired', /delivery time expired|message expired|retry time(out)? (has been )?exceeded|queue time(out)? expired|could not be delivered (with)?in \d+|(has|have) not been delivered (for|after|within)|too long in (the )?queue|message (was )?too old|timed? ?out waiting for|delay(ed)? (for|more than) \d+ (hours|days)|not delivered .* (\d+ )?(hours|days)/i],
	['norelaying', /relay(ing)? (access )?(denied|not (allowed|permitted))|unable to relay|not permitted to relay|we do not relay|relaying mail to .* is not allowed|no relaying|is not a local (domain|host)/i],
	['authfailure', /\b(spf|dkim|dmarc)\b.*(fail|reject|invalid|not pass|did not)|(fail|reject)\w*.*\b(spf|dkim|dmarc)\b|sender policy framework|not authenticated.*(spf|dkim)|authentication (check )?failed for the sender/i],
	['requireptr', /\bptr\b|reverse (dns|lookup|mapping)|rdns|no reverse|cannot find your hostname|client host .* (unknown|not found)|hostname .* (not|doesn.t) (match|resolve)|name lookup failed for your ip/i],
	['blocked', /\bblock(ed|list|ing)?\b|black ?list|\bdenylist|spamhaus|spamcop|sorbs|barracudacentral|\brbl\b|\bdnsbl\b|listed (in|on|at)|banned|please use the smtp server of your isp|your (ip|host|network) .* (has been )?(rejected|refused)|client host .* rejected|access denied.*ip|ip .* (is )?(not allowed|denied|rejected)|connection (refused|rejected) .* (policy|listed)/i],
	['spamdetected', /\bspam\b|\bUBE\b|junk mail|bulk (e-?mail|mail)|unsolicited|looks like spam|content .* (spam|suspicious)|message (was )?(classified|identified|considered) as/i],
	['virusdetected', /\bvirus\b|malware|infected/i],
	['securityerror', /tls (is )?required|encryption required|must issue a starttls|requires? (a )?secure connection|authentication required|must authenticate/i],
	['syntaxerror', /syntax error|bad sequence of commands|command (not )?(recogni[sz]ed|unrecogni[sz]ed)|unrecognized command|line too long|parameter not (implemented|recognized)|pipelining|\bcommand out of sequence/i],
	['rejected', /sender (address )?(rejected|refused|denied|blocked|not allowed|verify failed|unknown)|(address|domain) of sender|sender domain .* (not|does)|mail from .* (rejected|refused)|rejected .* sender|invalid sender|bad sender|unverified sender|sender (is )?(not|un)authori[sz]ed|from address .* (rejected|invalid)|envelope sender/i],
	['hasmoved', /has moved|(has been|was) (moved|changed)|moved (permanently )?to|no longer (at|with|used|valid|in use|available|exists)|address changed|forward(ing)? address/i],
	['mailboxfull', /mailbox (is )?(full|over|exceed)|over ?quota|quota (exceeded|full|limit)|exceed(s|ed)? .*quota|insufficient (system )?storage|(mail)?box (size )?limit|not enough (storage|space|disk)|storage (space )?(exceeded|full)|user (is )?over|full mailbox|mail ?box.*full|(disk|space) (is )?full|would exceed/i],
	['exceedlimit', /message (size )?(is )?too (large|big)|size (limit )?exceed|exceeds? (the )?(maximum|size)|message (length|size) exceeds|too large for|maximum (message )?size/i],
	['suspend', /(mailbox|account|user|address) (is )?(disabled|suspended|inactive|deactivated|locked|frozen|blocked by (the )?owner)|has been (disabled|suspended|deactivated)|temporarily (disabled|suspended)|not active/i],
	['hostunknown', /host (or domain name )?(unknown|not found)|(couldn.t|could not|can.t|cannot) find any host named|unknown host|domain (name )?(not found|does not exist|unknown|is not configured)|no such domain|unrouteable (mail )?domain|name or service not known|name server|nxdomain|unknown domain|no (mail|mx) (server|record|host)|(cannot|can.t|could not) (be )?(resolve|find) (the )?(host|domain|mx)|domain .* (has no|without) mx|invalid domain|no route to domain|host not reachable|illegal host/i],
	['notaccept', /does not accept mail|null mx|accepts no mail|domain .* does not receive mail|not accepting (e-?)?mail/i],
	['userunknown', /user (unknown|not found|doesn.t exist|does not exist)|unknown (user|recipient|mailbox|local ?part|address)|no such (user|recipient|mailbox|address|account|local user|person)|(mailbox|recipient|address|account|user) (does not|doesn.t|did not) exist|(mailbox|recipient|address|account|user)( name)? (is )?(not (found|valid|known|listed)|invalid|unavailable|unknown|nonexistent|non-existent)|invalid (recipient|mailbox|address|user)|recipient (address )?rejected|not our customer|no mailbox|mailbox not found|undeliverable address|address (is )?(not|un)known|recipientnotfound|(is )?not a valid (mailbox|user|recipient)|the email account that you tried to reach does not exist|bad destination mailbox|no such (file|directory)|unknown or illegal alias|addressee unknown|could not be found|doesn't have an? (account|mailbox)|not listed in .* (directory|address)|rejected: user|550 (5\.1\.1 )?<[^>]+>\.\.\. user unknown/i],
	['networkerror', /connection (timed out|refused|reset|closed|lost|dropped)|timed out (while|during|connecting)|network (is )?(unreachable|error)|no route to host|host (is )?(down|unreachable)|could not connect|can.t connect|unable to connect|lost connection|too many hops|mail(ing)? loop|routing loop|hop count|read timeout|broken pipe|dns (error|failure|timeout)|temporary (lookup|dns) failure/i],
	['contenterror', /content (rejected|not allowed|error)|invalid (mime|header|content)|malformed|message (content|body) (is )?(rejected|not accepted|invalid)|8-?bit|encoding|attachment (type )?(not allowed|rejected|blocked)|prohibited (file|attachment)/i],
	['policyviolation', /policy|not allowed|prohibited|violat|forbidden|administrative(ly)? (prohibited|reasons)|refused to accept|rejected (for|by|due to) (content|local|our)|denied by|local (policy|rules)/i],
	['filtered', /filter(ed|ing)?|rejected by (the )?recipient|recipient .* (does not|doesn.t) (want|accept)|refused by (the )?recipient|delivery (is|was) (not authorized|refused)|message rejected/i],
];

/** Enhanced status → reason, when the text names nothing more specific. */
function reasonOfStatus(status: string | null): string | undefined {
	if (!status) {
		return undefined;
	}

	const [klass, subject, detail] = status.split('.').map(Number) as [number, number, number];
	const code = `${subject}.${detail}`;
	const exact: Record<string, string> = {
		'1.1': 'userunknown',
		'1.0': 'userunknown',
		'1.2': 'hostunknown',
		'1.3': 'userunknown',
		'1.4': 'userunknown',
		'1.5': 'userunknown',
		'1.6': 'hasmoved',
		'1.7': 'rejected',
		'1.8': 'rejected',
		'1.10': 'notaccept',
		'2.0': 'suspend',
		'2.1': 'suspend',
		'2.2': 'mailboxfull',
		'2.3': 'exceedlimit',
		'2.4': 'mailboxfull',
		'3.0': 'mailboxfull',
		'3.1': 'mailboxfull',
		'3.4': 'exceedlimit',
		'4.4': 'hostunknown',
		'4.6': 'networkerror',
		'4.7': 'expired',
		'5.0': 'syntaxerror',
		'5.1': 'syntaxerror',
		'5.2': 'syntaxerror',
		'5.3': 'syntaxerror',
		'5.4': 'syntaxerror',
		'5.5': 'syntaxerror',
		'6.0': 'contenterror',
		'7.0': 'policyviolation',
		'7.1': klass === 5 ? 'rejected' : 'policyviolation',
		'7.2': 'policyviolation',
		'7.7': 'contenterror',
		'7.8': 'securityerror',
		'7.9': 'securityerror',
		'7.10': 'securityerror',
		'7.11': 'securityerror',
		'7.13': 'suspend',
		'7.20': 'authfailure',
		'7.21': 'authfailure',
		'7.22': 'authfailure',
		'7.23': 'authfailure',
		'7.24': 'authfailure',
		'7.25': 'requireptr',
		'7.26': 'authfailure',
		'7.27': 'notaccept',
	};
	if (exact[code]) {
		return exact[code];
	}

	if (subject === 4) {
		return klass === 5 && detail === 4 ? 'hostunknown' : 'networkerror';
	}

	if (subject === 6) {
		return 'contenterror';
	}

	if (subject === 5) {
		return 'syntaxerror';
	}

	return undefined;
}

/** The reason name for one failed recipient. */
export function classifyReason(input: {status: string | null; replyCode: string | null; text: string; action: string}): string {
	// Links (help pages, "…/block", "…/spam-policy") describe nothing about this failure.
	const text = input.text.replaceAll(/\b(https?:\/\/|www\.)\S+/gi, ' ').replaceAll(/\s+/g, ' ');
	for (const [reason, pattern] of TEXT_RULES) {
		if (pattern.test(text)) {
			// A generic "not allowed"/"policy" phrase must not override a precise address-level status.
			if ((reason === 'policyviolation' || reason === 'filtered') && input.status && /^5\.1\.(1|2|6|10)$/.test(input.status)) {
				break;
			}

			return reason;
		}
	}

	const fromStatus = reasonOfStatus(input.status);
	if (fromStatus) {
		return fromStatus;
	}

	if (input.action === 'delayed') {
		return 'delayed';
	}

	const reply = Number(input.replyCode);
	if (reply === 550 || reply === 551 || reply === 553) {
		return 'userunknown';
	}

	if (reply === 552) {
		return 'mailboxfull';
	}

	if (reply >= 400 && reply < 500) {
		return 'networkerror';
	}

	return 'undefined';
}
