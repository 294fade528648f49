import test from 'ava';
import {parseReceipt} from '../../../source/shared/pec/receipt.js';
import {pecReceipt} from '../../helpers/notices.js';

const ORIGINAL = '<ZAbCdEfGhIjKlMnOpQrStU@acme.example>';
const receipt = (kind: string, subject: string, more: {header?: boolean; error?: string} = {}) =>
	Buffer.from(pecReceipt({kind, subject, originalMessageId: ORIGINAL, recipient: 'mario@pec.example.it', ...more}));

test('X-Ricevuta names the receipt; the original is found through X-Riferimento-Message-ID', async t => {
	const expected: Array<[string, string]> = [
		['accettazione', 'pec_acceptance'],
		['avvenuta-consegna', 'pec_delivery'],
		['consegna', 'pec_delivery'],
		['mancata-consegna', 'pec_error'],
		['errore-consegna', 'pec_error'],
		['non-accettazione', 'pec_error'],
		['presa-in-carico', 'pec_relay'],
	];
	for (const [kind, event] of expected) {
		const parsed = await parseReceipt(receipt(kind, 'Ricevuta'));
		t.like(parsed, {event, type: kind, recipient: 'mario@pec.example.it', correlation: {pk: 'ZAbCdEfGhIjKlMnOpQrStU'}}, kind);
		t.is(typeof parsed?.timestamp, 'string');
	}
});

test('without X-Ricevuta the subject decides, longer patterns first', async t => {
	const expected: Array<[string, string, string]> = [
		['POSTA CERTIFICATA: AVVENUTA CONSEGNA: Fattura 42', 'pec_delivery', 'avvenuta-consegna'],
		['NON ACCETTAZIONE: Fattura 42', 'pec_error', 'non-accettazione'],
		['Avvenuta consegna: Fattura 42', 'pec_delivery', 'avvenuta-consegna'],
		['AVVISO DI MANCATA CONSEGNA: Fattura 42', 'pec_error', 'mancata-consegna'],
		['ERRORE CONSEGNA: Fattura 42', 'pec_error', 'errore-consegna'],
		['PRESA IN CARICO: Fattura 42', 'pec_relay', 'presa-in-carico'],
		['ACCETTAZIONE: Fattura 42', 'pec_acceptance', 'accettazione'],
	];
	for (const [subject, event, type] of expected) {
		t.like(await parseReceipt(receipt('ignored', subject, {header: false})), {event, type}, subject);
	}

	t.is(await parseReceipt(receipt('ignored', 'Fattura 42', {header: false})), undefined, 'anything else is not a receipt');
});

test('a failure carries its reason from the body', async t => {
	const parsed = await parseReceipt(receipt('mancata-consegna', 'AVVISO DI MANCATA CONSEGNA: x', {error: 'casella del destinatario piena'}));
	t.like(parsed, {event: 'pec_error', error_reason: 'casella del destinatario piena'});
	t.is((await parseReceipt(receipt('accettazione', 'ACCETTAZIONE: x', {error: 'n/a'})))?.error_reason, null, 'only failures have a reason');
});
