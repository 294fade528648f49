/**
 * One error type for both front doors: it carries the HTTP status the REST API answers with and the
 * exit code the CLI ends with, so neither adapter invents its own mapping.
 */
export type ExitCode = 1 | 2;

export type FieldIssue = {type: string; loc: Array<string | number>; msg: string};

export class AppError extends Error {
	readonly status: number;
	readonly exitCode: ExitCode;
	/** Body `detail` for HTTP when it is not the message itself (422 issues, add-messages rejections). */
	readonly detail: unknown;

	constructor(message: string, options: {status: number; exitCode: ExitCode; detail?: unknown}) {
		super(message);
		this.name = 'AppError';
		this.status = options.status;
		this.exitCode = options.exitCode;
		this.detail = options.detail ?? message;
	}
}

/** Bad input from the caller: CLI exit 2, HTTP 422. */
export function usageError(message: string, issues?: FieldIssue[]): AppError {
	return new AppError(message, {status: 422, exitCode: 2, detail: issues ?? message});
}

/** The command was understood but refused: HTTP 400, CLI exit 1. */
export function refused(message: string, detail?: unknown): AppError {
	return new AppError(message, {status: 400, exitCode: 1, detail});
}

/** Something named in the path does not exist: HTTP 404, CLI exit 1. */
export function notFound(message: string): AppError {
	return new AppError(message, {status: 404, exitCode: 1});
}

export function unauthorized(message: string): AppError {
	return new AppError(message, {status: 401, exitCode: 1});
}

export function forbidden(message = 'Admin token required, tenant tokens not allowed for this operation'): AppError {
	return new AppError(message, {status: 403, exitCode: 1});
}

/** A runtime failure (daemon did not start, port busy, ...): CLI exit 1. */
export function failure(message: string): AppError {
	return new AppError(message, {status: 500, exitCode: 1});
}

export function isAppError(error: unknown): error is AppError {
	return error instanceof AppError;
}

export function errorMessage(error: unknown): string {
	if (error instanceof Error) {
		return error.message;
	}

	return String(error);
}
