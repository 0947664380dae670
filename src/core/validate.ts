import type { Diagnostic, InstrumentResult, LanguageInstrumenter } from './types.js';

/**
 * Parses instrumented output again with the language's own parser. Output that does not
 * parse would break the user's build far from its cause, so the original code is kept
 * instead and the reason becomes an error diagnostic.
 */
export async function validateInstrumented(
  original: string,
  result: InstrumentResult,
  filename: string,
  lang: LanguageInstrumenter,
): Promise<InstrumentResult> {
  if (!result.instrumented) return result;
  let problem: Diagnostic | null;
  try {
    problem = await lang.check(result.code, filename);
  } catch (e) {
    problem = { file: filename, line: 0, column: 0, severity: 'error', message: (e as Error).message };
  }
  if (!problem) return result;
  return {
    code: original,
    map: null,
    instrumented: false,
    language: result.language,
    stats: { functions: 0, variables: 0, branches: 0, loops: 0 },
    diagnostics: [
      ...result.diagnostics,
      {
        file: filename,
        line: problem.line,
        column: problem.column,
        severity: 'error',
        message: `instrumented output does not parse, original kept: ${problem.message}`,
      },
    ],
  };
}
