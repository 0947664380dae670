import { extname } from 'node:path';
import type { LanguageInstrumenter } from './types.js';
import { jsInstrumenter } from './js/index.js';
import { pyInstrumenter } from './python/index.js';

/** Every built-in language front end; Python and Go join here. */
export const LANGUAGES: LanguageInstrumenter[] = [jsInstrumenter, pyInstrumenter];

export function languageFor(filename: string): LanguageInstrumenter | undefined {
  const ext = extname(filename).toLowerCase();
  return LANGUAGES.find((l) => l.extensions.includes(ext));
}
