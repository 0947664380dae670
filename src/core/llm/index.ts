export { LlmClient } from './client.js';
export { instrumentWithLlm, MAX_ATTEMPTS, type LlmFileResult } from './engine.js';
export { LessonBook } from './lessons.js';
export { LLM_LANGUAGES, STATEMENTS, STATEMENTS_VERSION } from './statements.js';
export { resolveLlmSettings, LlmSettingsError, DEFAULT_PRICES, LLM_CONFIG_FILE, type LlmSettings, type LlmFlags, type Price } from './settings.js';

import { languageForFile, type LanguageInfo } from '../tree-sitter/index.js';
import { languageFor } from '../languages.js';
import { LLM_LANGUAGES } from './statements.js';

/** The tree-sitter language of a file the LLM path handles: one with statements and no built-in instrumenter. */
export function llmLanguageFor(filename: string): LanguageInfo | undefined {
  if (languageFor(filename)) return undefined;
  const info = languageForFile(filename);
  return info && LLM_LANGUAGES.includes(info.id) ? info : undefined;
}
