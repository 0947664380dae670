import type { LanguageInstrumenter } from '../types.js';
import { instrumentJs } from './instrument.js';
import { ParseFailure, parseJs } from './parse.js';

export const jsInstrumenter: LanguageInstrumenter = {
  language: 'javascript',
  version: '4',
  extensions: ['.js', '.jsx', '.mjs', '.cjs', '.ts', '.tsx', '.mts', '.cts'],
  instrument(code, ctx) {
    try {
      return instrumentJs(code, ctx);
    } catch (e) {
      if (!(e instanceof ParseFailure)) throw e;
      return {
        code, map: null, instrumented: false, language: 'javascript',
        diagnostics: [e.diagnostic],
        stats: { functions: 0, variables: 0, branches: 0, loops: 0 },
      };
    }
  },
  check(code, filename) {
    try {
      parseJs(code, filename);
      return null;
    } catch (e) {
      if (e instanceof ParseFailure) return { ...e.diagnostic, message: e.diagnostic.message.replace(/; passed through uninstrumented$/, '') };
      throw e;
    }
  },
};
