import type {z} from 'zod';
import type {Store} from '../shared/db/store.js';
import {isAppError, usageError} from '../shared/errors.js';
import type {Effects, OpContext} from '../shared/operations/context.js';
import {readAdminToken} from '../shared/operations/admin-token.js';
import type {InstancePaths} from '../shared/paths.js';
import {parseInput, toFieldIssues} from '../shared/validation.js';
import {runningUrl} from './instance.js';
import {isInteractive} from './tty.js';
import type {FormField, Values} from './ui/form.js';

/**
 * The CLI's operation context: the store opened directly, and effects that poke the running daemon
 * after the command: a plain wake for new or resumed messages (test mode ignores it), run-now only for
 * the run-now command, a bounce reload for bounce settings.
 */
export function cliContext(paths: InstancePaths, store: Store): OpContext & {flush(): Promise<void>} {
	const runNow = new Set<string | undefined>();
	let wake = false;
	let reloadBounce = false;
	const effects: Effects = {
		messagesReady: () => (wake = true),
		tenantsChanged: () => (wake = true),
		runNow: tenantId => runNow.add(tenantId),
		bounceConfigChanged: () => (reloadBounce = true),
	};
	return {
		store,
		effects,
		async flush() {
			const url = runningUrl(paths);
			if (!url || (runNow.size === 0 && !wake && !reloadBounce)) {
				return;
			}

			const token = process.env['GMP_API_TOKEN'] ?? readAdminToken(store) ?? '';
			const post = async (path: string) =>
				fetch(`${url}${path}`, {method: 'POST', headers: {'X-API-Token': token}, signal: AbortSignal.timeout(2000)}).catch(() => undefined);
			const targets = runNow.has(undefined) ? [undefined] : [...runNow];
			await Promise.all([
				...targets.map(async tenantId => post(`/commands/run-now${tenantId ? `?tenant_id=${encodeURIComponent(tenantId)}` : ''}`)),
				...(wake && runNow.size === 0 ? [post('/internal/wake')] : []),
				...(reloadBounce ? [post('/instance/reload-bounce')] : []),
			]);
		},
	};
}

/**
 * Validates a payload built from flags with the operation's schema; problems name the flags the user
 * typed (`--port: Input should be less than or equal to 65535`), exit 2.
 */
export function validateFlags<S extends z.ZodType>(schema: S, payload: unknown, flagNames: Record<string, string>): z.output<S> {
	try {
		return parseInput(schema, payload, 'body');
	} catch (error) {
		if (isAppError(error) && Array.isArray(error.detail)) {
			const result = schema.safeParse(payload);
			const issues = result.success ? [] : toFieldIssues(result.error, 'body', payload);
			const first = issues[0];
			if (first) {
				const field = String(first.loc[1] ?? '');
				const flag = flagNames[field] ?? `--${field.replaceAll('_', '-')}`;
				const message = first.type === 'missing' ? 'is required' : first.msg;
				throw usageError(`${flag}: ${message}`);
			}
		}

		throw error;
	}
}

/** `--x` given or prompted: the names of missing required flags, for the non-interactive error. */
export function missingFlags(values: Record<string, unknown>, required: Array<[string, string]>): string[] {
	return required.filter(([name]) => values[name] === undefined || values[name] === null || values[name] === '').map(([, flag]) => flag);
}

/**
 * Completes values the flags left out: in a terminal, a form asks for them (undefined when cancelled);
 * without one, a usage error `missing <what> (no terminal to ask)`.
 */
export async function askMissing<V extends object>(values: V, what: string, title: string, fields: FormField[]): Promise<V | undefined> {
	if (!isInteractive()) {
		throw usageError(`missing ${what} (no terminal to ask)`);
	}

	const given = Object.fromEntries(Object.entries(values).filter(([key, value]) => value !== undefined && key !== 'json')) as Values;
	const {runForm} = await import('./ui/form.js');
	const answers = await runForm(title, fields, given);
	return answers && {...values, ...(answers as Partial<V>)};
}
