/**
 * One-shot entry point of the cti-go shim (its fallback when the daemon, daemon.ts, cannot be
 * reached): reads a JSON request on stdin, writes the instrumented files, answers which files
 * were rewritten on stdout. The request and answer are described in package.ts.
 */
import { readFileSync } from 'node:fs';
import { instrumentPackage, type PackageRequest } from './package.js';

const request = JSON.parse(readFileSync(0, 'utf8')) as PackageRequest;
process.stdout.write(JSON.stringify(await instrumentPackage(request)));
