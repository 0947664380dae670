/**
 * Entry point the cti-go shim runs (one process per rewritten package): reads a JSON request on
 * stdin, writes the instrumented files, answers which files were rewritten on stdout.
 *
 * Request: { pkg, root, files: [{ path, out }] }. Answer: { files: [{ path, out?, skipped? }] }.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { instrumentGoFile } from './instrument.js';

interface Request {
  pkg: string;
  root: string;
  files: { path: string; out: string }[];
}

const request = JSON.parse(readFileSync(0, 'utf8')) as Request;
const answer: { path: string; out?: string; skipped?: string }[] = [];
for (const [index, file] of request.files.entries()) {
  const code = readFileSync(file.path, 'utf8');
  const r = await instrumentGoFile(code, { pkg: request.pkg, path: file.path, root: request.root, index });
  if (r.instrumented) {
    writeFileSync(file.out, r.code);
    answer.push({ path: file.path, out: file.out });
  } else {
    answer.push({ path: file.path, skipped: r.skipped });
  }
}
process.stdout.write(JSON.stringify({ files: answer }));
