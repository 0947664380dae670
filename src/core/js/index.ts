import type { LanguageInstrumenter } from '../types.js';

// Placeholder while the instrumenter is written (replaced in the next commit).
export const jsInstrumenter: LanguageInstrumenter = {
  language: 'javascript',
  version: '0',
  extensions: ['.js', '.jsx', '.mjs', '.cjs', '.ts', '.tsx', '.mts', '.cts'],
  instrument: (code) => ({ code, map: null, instrumented: false, diagnostics: [], language: 'javascript', stats: { functions: 0, variables: 0, branches: 0, loops: 0 } }),
  check: () => null,
};
