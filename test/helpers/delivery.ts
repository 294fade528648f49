import type {ExecutionContext} from 'ava';
import {startInstance, type Instance} from './daemon.js';
import {smtpSink, type Sink, type SinkOptions} from './smtp-sink.js';
import {waitFor} from './home.js';

export type Delivery = {
	instance: Instance;
	sink: Sink;
	enqueue(messages: Array<Record<string, unknown>>, extra?: Record<string, unknown>): Promise<any>;
	messages(): Promise<Array<Record<string, any>>>;
	message(id: string): Promise<Record<string, any>>;
	waitStatus(id: string, status: string, timeoutMs?: number): Promise<Record<string, any>>;
};

export const BASE = {tenant_id: 'acme', account_id: 'smtp', from: 'Billing <billing@acme.example>', to: ['ann@example.org'], subject: 'Hello', body: 'Hi there'};

/**
 * A daemon with tenant `acme` and account `smtp` pointing at a real SMTP sink on 127.0.0.1.
 * Retry delays are short (configuration, never sleeping for minutes).
 */
export async function deliverySetup(
	t: ExecutionContext,
	options: {sink?: SinkOptions; env?: Record<string, string>; account?: Record<string, unknown>; tenant?: Record<string, unknown>; retryDelays?: number[]; maxRetries?: number} = {},
): Promise<Delivery> {
	const sink = await smtpSink(t, options.sink);
	const instance = await startInstance(t, {env: options.env});
	await instance.request('POST', '/tenant', {body: {id: 'acme', name: 'ACME', ...options.tenant}});
	await instance.request('POST', '/account', {body: {id: 'smtp', tenant_id: 'acme', host: '127.0.0.1', port: sink.port, tls_mode: 'none', ...options.account}});
	await instance.request('PUT', '/instance', {body: {retry_delays: options.retryDelays ?? [1, 1, 1], max_retries: options.maxRetries ?? 3}});
	const delivery: Delivery = {
		instance,
		sink,
		async enqueue(messages, extra = {}) {
			const response = await instance.request('POST', '/commands/add-messages', {body: {messages: messages.map(message => ({...BASE, ...message})), ...extra}});
			if (response.status !== 200) {
				throw new Error(`enqueue failed: ${JSON.stringify(response.body)}`);
			}

			return response.body;
		},
		async messages() {
			return (await instance.request('GET', '/messages?tenant_id=acme&include_history=true')).body.messages;
		},
		async message(id) {
			return (await delivery.messages()).find(message => message['id'] === id)!;
		},
		async waitStatus(id, status, timeoutMs = 15_000) {
			return waitFor(
				async () => {
					const found = await delivery.message(id);
					return found?.['status'] === status ? found : undefined;
				},
				{timeoutMs, what: `message ${id} to be ${status}`},
			);
		},
	};
	return delivery;
}
