#!/usr/bin/env node
import {errorMessage, isAppError} from '../shared/errors.js';
import {main} from './main.js';

/** One readable line on stderr per error; a stack trace only with MAIL_PROXY_DEBUG=1. */
function fail(error: unknown): number {
	if (process.env['MAIL_PROXY_DEBUG'] === '1' && error instanceof Error) {
		process.stderr.write(`${error.stack}\n`);
	}

	process.stderr.write(`mail-proxy: ${errorMessage(error).split('\n')[0]}\n`);
	return isAppError(error) ? error.exitCode : 1;
}

try {
	process.exitCode = await main(process.argv.slice(2));
} catch (error) {
	process.exitCode = fail(error);
}
