// The benchmark corpus: real third-party source files installed from npm into bench/node_modules
// (versions pinned in bench/package.json and bench/package-lock.json).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH = fileURLToPath(new URL('..', import.meta.url));
export const NODE_MODULES = join(BENCH, 'node_modules');

function walk(dir, keep) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path, keep));
    else if (entry.isFile() && keep(path)) out.push(path);
  }
  return out;
}

const isTestPath = (p) => /[\\/]tests?[\\/]|\.test\.ts$|[\\/]benchmarks[\\/]/.test(p);

/** name, language group, and the files of each part of the corpus. */
export const PARTS = [
  { name: 'lodash-es (ESM .js)', group: 'js', files: () => walk(join(NODE_MODULES, 'lodash-es'), (p) => p.endsWith('.js')) },
  // date-fns ships each function as an ESM .js next to a .cjs; the top level holds the functions.
  { name: 'date-fns (ESM .js, top level)', group: 'js', files: () => readdirSync(join(NODE_MODULES, 'date-fns')).filter((f) => f.endsWith('.js')).map((f) => join(NODE_MODULES, 'date-fns', f)) },
  { name: 'rxjs dist/esm (.js)', group: 'js', files: () => walk(join(NODE_MODULES, 'rxjs/dist/esm'), (p) => p.endsWith('.js')) },
  { name: 'rxjs src (.ts)', group: 'ts', files: () => walk(join(NODE_MODULES, 'rxjs/src'), (p) => p.endsWith('.ts') && !p.endsWith('.d.ts')) },
  { name: 'zod src/v4/core, no tests (.ts)', group: 'ts', files: () => walk(join(NODE_MODULES, 'zod/src/v4/core'), (p) => p.endsWith('.ts') && !p.endsWith('.d.ts') && !isTestPath(p)) },
];

/** Loads every file of the corpus: [{ part, group, path, rel, code, bytes }]. */
export function loadCorpus() {
  const files = [];
  for (const part of PARTS) {
    for (const path of part.files().sort()) {
      const code = readFileSync(path, 'utf8');
      files.push({ part: part.name, group: part.group, path, rel: relative(NODE_MODULES, path).split(sep).join('/'), code, bytes: Buffer.byteLength(code) });
    }
  }
  return files;
}
