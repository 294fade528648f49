import {z} from 'zod';
import {failure} from './errors.js';

const bool = z
	.string()
	.trim()
	.toLowerCase()
	.refine(v => ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', ''].includes(v), 'must be true or false')
	.transform(v => ['true', '1', 'yes', 'on'].includes(v));

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
	z
		.string()
		.trim()
		.regex(/^-?\d+$/, 'must be an integer')
		.transform(Number)
		.pipe(z.number().int().min(min).max(max));

const number = (min: number) =>
	z
		.string()
		.trim()
		.regex(/^-?\d+(\.\d+)?$/, 'must be a number')
		.transform(Number)
		.pipe(z.number().min(min));

const PRIORITY_LABELS: Record<string, number> = {immediate: 0, high: 1, medium: 2, low: 3};

const priority = z
	.string()
	.trim()
	.refine(v => /^\d+$/.test(v) || v in PRIORITY_LABELS, 'must be 0-3 or immediate/high/medium/low')
	.transform(v => (v in PRIORITY_LABELS ? PRIORITY_LABELS[v]! : Math.min(3, Number(v))));

const url = z.string().trim().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL');

/** Environment variables of engine.md §16; each optional, defaults applied in `loadConfig`. */
const envSchema = z.object({
	GMP_API_TOKEN: z.string().min(1).optional(),
	GMP_DB_PATH: z.string().min(1).optional(),
	GMP_HOST: z.string().min(1).optional(),
	GMP_PORT: int(1, 65_535).optional(),
	GMP_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).optional(),
	GMP_LOG_DELIVERY_ACTIVITY: bool.optional(),
	GMP_TEST_MODE: bool.optional(),
	GMP_DEFAULT_PRIORITY: priority.optional(),
	GMP_SEND_LOOP_INTERVAL: number(0.05).optional(),
	GMP_BATCH_SIZE_PER_ACCOUNT: int(1).optional(),
	GMP_DELIVERY_REPORT_RETENTION_SECONDS: int(0).optional(),
	GMP_COMMAND_LOG_RETENTION_SECONDS: int(0).optional(),
	GMP_CLIENT_SYNC_URL: url.optional(),
	GMP_CLIENT_SYNC_TOKEN: z.string().optional(),
	GMP_CLIENT_SYNC_USER: z.string().optional(),
	GMP_CLIENT_SYNC_PASSWORD: z.string().optional(),
	GMP_BOUNCE_ENABLED: bool.optional(),
	GMP_BOUNCE_IMAP_HOST: z.string().optional(),
	GMP_BOUNCE_IMAP_PORT: int(1, 65_535).optional(),
	GMP_BOUNCE_IMAP_USER: z.string().optional(),
	GMP_BOUNCE_IMAP_PASSWORD: z.string().optional(),
	GMP_BOUNCE_IMAP_SSL: bool.optional(),
	GMP_BOUNCE_IMAP_FOLDER: z.string().min(1).optional(),
	GMP_BOUNCE_POLL_INTERVAL: int(1).optional(),
	GMP_BOUNCE_RETURN_PATH: z.string().optional(),
	GMP_CACHE_MEMORY_MAX_MB: number(0).optional(),
	GMP_CACHE_MEMORY_TTL_SECONDS: int(0).optional(),
	GMP_CACHE_DISK_DIR: z.string().min(1).optional(),
	GMP_CACHE_DISK_MAX_MB: number(0).optional(),
	GMP_CACHE_DISK_TTL_SECONDS: int(0).optional(),
	GMP_CACHE_DISK_THRESHOLD_KB: number(0).optional(),
	GMP_ATTACHMENT_BASE_DIR: z.string().min(1).optional(),
	GMP_ATTACHMENT_MAX_MB: number(0.001).optional(),
	GMP_MAX_BODY_MB: number(0.001).optional(),
	GMP_PUBLIC_BASE_URL: url.optional(),
	GMP_PEC_ACCEPTANCE_TIMEOUT: int(1).optional(),
	// Intervals the engine fixes; overridable so tests never have to sleep for minutes.
	GMP_SYNC_INTERVAL: number(0.05).optional(),
	GMP_REPORT_BACKOFF_BASE: number(0.01).optional(),
	GMP_REPORT_BACKOFF_MAX: number(0.01).optional(),
	GMP_PEC_POLL_INTERVAL: number(0.05).optional(),
	GMP_LEASE_SECONDS: int(1).optional(),
});

export const IGNORED_VARIABLES = ['GMP_CONFIG', 'GMP_SCHEDULER_ACTIVE', 'GMP_START_ACTIVE', 'GMP_DATABASE_URL', 'GMP_ATTACHMENT_BASE_URL', 'GMP_DEBUG', 'LOG_LEVEL', 'LOG_FORMAT'];

const MiB = 1024 * 1024;

export type Config = ReturnType<typeof loadConfig>;

/** Reads and validates the environment once; an invalid value stops the start naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
	const picked: Record<string, string> = {};
	for (const key of Object.keys(envSchema.shape)) {
		const value = env[key];
		if (value !== undefined && value !== '') {
			picked[key] = value;
		}
	}

	const parsed = envSchema.safeParse(picked);
	if (!parsed.success) {
		const issue = parsed.error.issues[0]!;
		throw failure(`invalid ${String(issue.path[0])}=${JSON.stringify(picked[String(issue.path[0])])}: ${issue.message}`);
	}

	const e = parsed.data;
	const dbPath = e.GMP_DB_PATH;
	if (dbPath?.startsWith('postgres')) {
		throw failure('invalid GMP_DB_PATH: the PostgreSQL backend is not available; use a file path');
	}

	return {
		apiToken: e.GMP_API_TOKEN,
		dbPath: dbPath?.replace(/^sqlite:(\/\/)?/, ''),
		host: e.GMP_HOST,
		port: e.GMP_PORT,
		logLevel: e.GMP_LOG_LEVEL ?? 'info',
		logDeliveryActivity: e.GMP_LOG_DELIVERY_ACTIVITY ?? false,
		testMode: e.GMP_TEST_MODE ?? false,
		defaultPriority: e.GMP_DEFAULT_PRIORITY ?? 2,
		sendLoopIntervalMs: Math.round((e.GMP_SEND_LOOP_INTERVAL ?? 0.5) * 1000),
		batchSizePerAccount: e.GMP_BATCH_SIZE_PER_ACCOUNT ?? 50,
		reportRetentionSeconds: e.GMP_DELIVERY_REPORT_RETENTION_SECONDS ?? 604_800,
		commandLogRetentionSeconds: e.GMP_COMMAND_LOG_RETENTION_SECONDS ?? 2_592_000,
		clientSync: {
			url: e.GMP_CLIENT_SYNC_URL,
			token: e.GMP_CLIENT_SYNC_TOKEN,
			user: e.GMP_CLIENT_SYNC_USER,
			password: e.GMP_CLIENT_SYNC_PASSWORD,
		},
		bounceSeed: {
			enabled: e.GMP_BOUNCE_ENABLED,
			host: e.GMP_BOUNCE_IMAP_HOST,
			port: e.GMP_BOUNCE_IMAP_PORT,
			user: e.GMP_BOUNCE_IMAP_USER,
			password: e.GMP_BOUNCE_IMAP_PASSWORD,
			ssl: e.GMP_BOUNCE_IMAP_SSL,
			folder: e.GMP_BOUNCE_IMAP_FOLDER,
			pollInterval: e.GMP_BOUNCE_POLL_INTERVAL,
			returnPath: e.GMP_BOUNCE_RETURN_PATH,
		},
		cache: {
			memoryMaxBytes: (e.GMP_CACHE_MEMORY_MAX_MB ?? 50) * MiB,
			memoryTtlMs: (e.GMP_CACHE_MEMORY_TTL_SECONDS ?? 300) * 1000,
			diskDir: e.GMP_CACHE_DISK_DIR,
			diskMaxBytes: (e.GMP_CACHE_DISK_MAX_MB ?? 500) * MiB,
			diskTtlMs: (e.GMP_CACHE_DISK_TTL_SECONDS ?? 3600) * 1000,
			diskThresholdBytes: (e.GMP_CACHE_DISK_THRESHOLD_KB ?? 100) * 1024,
		},
		attachmentBaseDir: e.GMP_ATTACHMENT_BASE_DIR,
		attachmentMaxBytes: Math.round((e.GMP_ATTACHMENT_MAX_MB ?? 25) * MiB),
		maxBodyBytes: Math.round((e.GMP_MAX_BODY_MB ?? 64) * MiB),
		publicBaseUrl: e.GMP_PUBLIC_BASE_URL,
		pecAcceptanceTimeoutSeconds: e.GMP_PEC_ACCEPTANCE_TIMEOUT ?? 1800,
		syncIntervalMs: Math.round((e.GMP_SYNC_INTERVAL ?? 300) * 1000),
		reportBackoffBaseMs: Math.round((e.GMP_REPORT_BACKOFF_BASE ?? 5) * 1000),
		reportBackoffMaxMs: Math.round((e.GMP_REPORT_BACKOFF_MAX ?? 600) * 1000),
		pecPollIntervalMs: Math.round((e.GMP_PEC_POLL_INTERVAL ?? 60) * 1000),
		leaseSeconds: e.GMP_LEASE_SECONDS ?? 120,
		ignoredVariables: IGNORED_VARIABLES.filter(name => env[name] !== undefined),
	};
}
