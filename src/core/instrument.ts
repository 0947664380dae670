import { relative, resolve, sep } from 'node:path';
import { resolveConfig } from './config.js';
import { languageFor } from './languages.js';
import type { InstrumentOptions, InstrumentResult } from './types.js';

export const RUNTIME_SPECIFIER = 'code-telemetry-injector/runtime';

/** `code.file.path`: the file relative to the root, with forward slashes. */
export function relativePath(filename: string, root = process.cwd()): string {
  const rel = relative(resolve(root), resolve(filename));
  return (rel.startsWith('..') || rel === '' ? filename : rel).split(sep).join('/');
}

/**
 * Instruments one source file. Pure: reads nothing from disk. Files in an unsupported
 * language, or that fail to parse, come back unchanged with a diagnostic.
 */
export async function instrument(code: string, options: InstrumentOptions): Promise<InstrumentResult> {
  const lang = languageFor(options.filename);
  if (!lang) {
    return {
      code, map: null, instrumented: false, language: null,
      stats: { functions: 0, variables: 0, branches: 0, loops: 0 },
      diagnostics: [{ file: options.filename, line: 0, column: 0, severity: 'info', message: 'no instrumenter for this file type' }],
    };
  }
  return lang.instrument(code, {
    filename: options.filename,
    relativePath: relativePath(options.filename, options.root),
    config: resolveConfig(options.config),
    runtime: options.runtime ?? RUNTIME_SPECIFIER,
    moduleType: options.moduleType,
    sourceMap: options.sourceMap ?? true,
  });
}
