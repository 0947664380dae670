import { readFileSync } from 'node:fs';

/**
 * This package's version, read from package.json at run time: importing the JSON would pull
 * it under tsc's rootDir. The same relative URL works from src/ (tests) and dist/ (builds).
 */
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
