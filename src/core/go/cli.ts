/**
 * Entry point the cti-go shim runs (one process per rewritten package): reads a JSON request on
 * stdin, writes the instrumented files, answers which files were rewritten on stdout.
 *
 * Request: { pkg, root, files: [{ path, out }] }. Answer: { files: [{ path, out?, skipped? }] }.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { instrumentGoFile } from './instrument.js';

interface Request {
  pkg: string;
  root: string;
  files: { path: string; out: string }[];
}

const request = JSON.parse(readFileSync(0, 'utf8')) as Request;
const answer: { path: string; out?: string; skipped?: string }[] = [];
for (const file of request.files) {
  const code = readFileSync(file.path, 'utf8');
  const id = createHash('sha256').update(basename(file.path)).digest('hex').slice(0, 12);
  const r = await instrumentGoFile(code, { pkg: request.pkg, path: file.path, root: request.root, id });
  if (r.instrumented) {
    writeFileSync(file.out, r.code);
    answer.push({ path: file.path, out: file.out });
  } else {
    answer.push({ path: file.path, skipped: r.skipped });
  }
}
process.stdout.write(JSON.stringify({ files: answer }));
