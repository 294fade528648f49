import {tenantOverview} from '../../shared/operations/tenant-overview.js';
import type {InstancePaths} from '../../shared/paths.js';
import {parse} from '../args.js';
import {withStore} from '../instance.js';
import {formatDuration, paint, printFields, printJson} from '../output.js';
import {printTenant} from './tenants.js';

export type TenantScope = {paths: InstancePaths; tenantId: string};

function ago(epochSeconds: number | null | undefined): string {
	if (epochSeconds === null || epochSeconds === undefined) {
		return 'never';
	}

	const delta = Math.round(Date.now() / 1000 - epochSeconds);
	return delta >= 0 ? `${formatDuration(delta)} ago` : `in ${formatDuration(-delta)}`;
}

export async function info(scope: TenantScope, argv: string[]): Promise<number> {
	const {flags} = parse(argv, {help: 'mail-proxy <instance> <tenant> info [--json]\n\nTenant details, accounts, messages and delivery-report state.', flags: {json: {type: 'boolean'}}});
	return withStore(scope.paths, store => {
		const overview = tenantOverview(store, scope.tenantId);
		if (flags.json) {
			printJson(overview);
			return 0;
		}

		printTenant(overview);
		const {sync} = overview;
		printFields([
			['suspended', overview.suspended_batches.length === 0 ? 'no' : paint('yellow', overview.suspended_batches.join(', ').replace('*', 'all sending'))],
			['accounts', overview.accounts],
			['reports pending', sync.pending_reports],
			['last report ok', ago(overview.sync.in_dnd ? null : sync.last_sync_ts)],
			['report failures', sync.consecutive_failures === 0 ? '0' : paint('red', String(sync.consecutive_failures))],
			['next report try', sync.retry_at ? ago(sync.retry_at) : sync.in_dnd ? `do not disturb until ${ago(sync.dnd_until)}` : 'when events arrive'],
		]);
		return 0;
	});
}
