/** One Python file into the hook's cache: `<cache>/src/<key[0:2]>/<key>.json`, read by src/py-import-hook/_cti_hook.py. */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { resolveConfig } from '../../core/config.js';
import { decodePython, instrumentPython } from '../../core/python/index.js';
import type { CtiConfig, Diagnostic } from '../../core/types.js';

export interface PyFileTask {
  path: string;
  /** code.file.path: relative to the root, `/`-separated. */
  rel: string;
  cache: string;
  salt: string;
  config: CtiConfig;
}

export interface PyFileOutcome {
  rel: string;
  state: 'cached' | 'instrumented' | 'passed';
  diagnostics: Diagnostic[];
}

/** The same key the hook computes from the bytes it is about to import. */
export function pyCacheKey(salt: string, rel: string, bytes: Uint8Array): string {
  return createHash('sha256').update(`${salt}\0${rel}\0`).update(bytes).digest('hex');
}

export function entryPath(cache: string, key: string): string {
  return join(cache, 'src', key.slice(0, 2), `${key}.json`);
}

export async function processPyFile(task: PyFileTask): Promise<PyFileOutcome> {
  const bytes = await readFile(task.path);
  const key = pyCacheKey(task.salt, task.rel, bytes);
  const file = entryPath(task.cache, key);
  if (existsSync(file)) return { rel: task.rel, state: 'cached', diagnostics: [] };
  let entry: Record<string, unknown>;
  let diagnostics: Diagnostic[];
  let text: string | null = null;
  try {
    text = decodePython(bytes);
  } catch (e) {
    diagnostics = [{ file: task.rel, line: 0, column: 0, severity: 'error', message: `cannot decode: ${(e as Error).message}; passed through uninstrumented` }];
  }
  if (text !== null) {
    const r = await instrumentPython(text, { filename: task.rel, relativePath: task.rel, config: resolveConfig(task.config), runtime: '_cti_rt', sourceMap: false });
    diagnostics = r.diagnostics;
    entry = { key, rel: task.rel, instrumented: r.instrumented, code: r.instrumented ? r.code : null, lines: r.lineMap, diagnostics, stats: r.stats };
  } else {
    entry = { key, rel: task.rel, instrumented: false, code: null, lines: null, diagnostics: diagnostics! };
  }
  // Atomic: a reader sees the whole entry or none.
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, JSON.stringify(entry));
  await rename(temp, file);
  return { rel: task.rel, state: entry.instrumented ? 'instrumented' : 'passed', diagnostics: diagnostics! };
}
