/**
 * Instruments the files of one Go package for the cti-go shim: shared by the one-shot entry
 * point (cli.ts) and the warm daemon's workers (daemon.ts, worker.ts).
 *
 * Request: { pkg, root, lang?, files: [{ path, out }] } (lang: the compiler's `-lang`, e.g. go1.21). Answer: { files: [{ path, out?, skipped? }] }.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { instrumentGoFile } from './instrument.js';

export interface PackageRequest {
  pkg: string;
  root: string;
  lang?: string;
  files: { path: string; out: string }[];
}

export interface PackageAnswer {
  files: { path: string; out?: string; skipped?: string }[];
}

export async function instrumentPackage(request: PackageRequest): Promise<PackageAnswer> {
  const files: PackageAnswer['files'] = [];
  for (const file of request.files) {
    const code = readFileSync(file.path, 'utf8');
    const id = createHash('sha256').update(basename(file.path)).digest('hex').slice(0, 12);
    const r = await instrumentGoFile(code, { pkg: request.pkg, path: file.path, root: request.root, id, lang: request.lang });
    if (r.instrumented) {
      writeFileSync(file.out, r.code);
      files.push({ path: file.path, out: file.out });
    } else {
      files.push({ path: file.path, skipped: r.skipped });
    }
  }
  return { files };
}
