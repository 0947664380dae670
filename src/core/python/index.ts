import { parse, syntaxErrors } from '../tree-sitter/index.js';
import type { LanguageInstrumenter } from '../types.js';
import { instrumentPython } from './instrument.js';

export { instrumentPython, type PyInstrumentResult } from './instrument.js';
export type { PyLineMap } from './emit.js';
export { decodePython, declaredEncoding } from './source.js';

/**
 * Python through the generic instrument(): the output only runs under the import hook
 * (`cti py hook`), which also needs the result's `lineMap`.
 */
export const pyInstrumenter: LanguageInstrumenter = {
  language: 'python',
  version: '1',
  extensions: ['.py', '.pyw'],
  instrument: instrumentPython,
  async check(code, filename) {
    const tree = await parse(code, 'python');
    try {
      const e = syntaxErrors(tree)[0];
      return e ? { file: filename, line: e.line, column: e.column, severity: 'error', message: e.message } : null;
    } finally {
      tree.delete();
    }
  },
};
