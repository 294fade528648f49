import fs from 'node:fs';
import {fileURLToPath} from 'node:url';

/** The package root: this file is at `<root>/dist/source/shared/version.js` once built. */
export const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));

export const version: string = (JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {version: string}).version;
