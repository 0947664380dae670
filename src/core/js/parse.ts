import type { ParserOptions, ParserPlugin } from '@babel/parser';
import type { File } from '@babel/types';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import type { Diagnostic } from '../types.js';

const TS = new Set(['.ts', '.mts', '.cts']);

function pluginsFor(ext: string, decorators: ParserPlugin): ParserPlugin[] {
  const common: ParserPlugin[] = [decorators, 'explicitResourceManagement', 'importAttributes', 'sourcePhaseImports'];
  if (ext === '.tsx') return ['typescript', 'jsx', ...common];
  // `.ts` must not get jsx: `<T>x` is a type assertion there.
  if (TS.has(ext)) return ['typescript', ...common];
  return ['jsx', ...common];
}

function optionsFor(filename: string, decorators: ParserPlugin): ParserOptions {
  const ext = extname(filename).toLowerCase();
  // A .cts file is CommonJS at run time but may be written with import/export (and
  // `import x = require()`), which TypeScript compiles to require(): the syntax decides.
  const sourceType = ext === '.mjs' || ext === '.mts' ? 'module' : ext === '.cjs' ? 'script' : 'unambiguous';
  return {
    sourceType,
    sourceFilename: filename,
    allowAwaitOutsideFunction: true,
    // CommonJS modules may `return` at the top level.
    allowReturnOutsideFunction: sourceType !== 'module',
    allowNewTargetOutsideFunction: false,
    createParenthesizedExpressions: false,
    plugins: pluginsFor(ext, decorators),
  };
}

/**
 * Babel is loaded on the first parse, with require(): a bundler plugin whose modules all come
 * from the cache never needs it, and importing its CommonJS build from ESM costs Node a scan of
 * its half megabyte for export names.
 */
let babelParse: typeof import('@babel/parser').parse | undefined;
const parse: typeof import('@babel/parser').parse = (code, options) => {
  babelParse ??= (createRequire(import.meta.url)('@babel/parser') as typeof import('@babel/parser')).parse;
  return babelParse(code, options);
};

export class ParseFailure extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

/**
 * Parses with the plugins the extension calls for. TC39 decorators are tried first and
 * legacy (TypeScript `experimentalDecorators`) decorators second, since each rejects some
 * placements the other accepts.
 */
export function parseJs(code: string, filename: string): File {
  let first: unknown;
  for (const decorators of ['decorators', 'decorators-legacy'] as ParserPlugin[]) {
    try {
      return parse(code, optionsFor(filename, decorators)) as unknown as File;
    } catch (e) {
      first ??= e;
    }
  }
  const err = first as Error & { loc?: { line: number; column: number } };
  const message = err.message.replace(/\s*\(\d+:\d+\)$/, '');
  throw new ParseFailure({
    file: filename,
    line: err.loc?.line ?? 0,
    column: (err.loc?.column ?? 0) + 1,
    severity: 'error',
    message: `cannot parse: ${message}; passed through uninstrumented`,
  });
}
