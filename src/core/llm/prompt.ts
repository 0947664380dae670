/**
 * The request text. Worded as routine observability work ("add logging statements"): the original
 * tool's prompts that spoke of "injecting" code were refused by some models.
 */
import type { EventKind } from './statements.js';
import type { Lines, Unit } from './units.js';

export interface PromptUnit {
  unit: Unit;
  statements: Record<EventKind, string>;
  /** Why the previous answer for this function was rejected, and what it was. */
  feedback?: { problems: string[]; previous: string };
}

export const SYSTEM_PROMPT = `You are a careful senior engineer adding observability logging to existing source code.
You never rewrite code: you only say where to add given logging statements, as JSON.
Answer with a single JSON object and nothing else.`;

export function buildPrompt(args: { languageName: string; file: string; lines: Lines; units: PromptUnit[]; exitAdvice: string; lessons: string[] }): string {
  const { languageName, file, lines, units, exitAdvice, lessons } = args;
  const parts = [
    `Add function entry/exit logging to ${units.length === 1 ? 'one function' : `${units.length} functions`} of the ${languageName} file ${file}.`,
    '',
    'Rules:',
    '- Only add lines. Never change, remove or reorder existing lines.',
    '- Use the entry and exit statements given for each function exactly as written, and add nothing else: no other code, no new block or condition (only `try {` / `} finally {` / `}` or `ensure` lines when the exit rule below calls for them).',
    '- Insert whole statements between statements: never after a line whose statement continues on the next line.',
    '- The entry statement goes at the start of the function body (after the line that opens the body).',
    `- Exit: ${exitAdvice}.`,
    '- Line numbers are those shown at the left of each line. "where": "after" adds the code after that line, "before" adds it before that line.',
    '',
    'Answer with JSON only, in this form:',
    '{"insertions": [{"function": 1, "line": 12, "where": "after", "code": "<statement>"}, ...]}',
  ];
  if (lessons.length) {
    parts.push('', `Mistakes made before in ${languageName} files (avoid them):`, ...lessons.map((l) => `- ${l}`));
  }
  for (const { unit, statements, feedback } of units) {
    parts.push('', `## Function ${unit.id}: ${unit.name} (lines ${unit.startLine}-${unit.endLine})`, 'Entry statement:', statements.enter, 'Exit statement:', statements.exit);
    if (feedback) {
      parts.push('Your previous answer for this function was rejected:', ...feedback.problems.map((p) => `- ${p}`), `Previous insertions: ${feedback.previous}`);
    }
    parts.push('Code:');
    const width = String(unit.endLine).length;
    for (let l = unit.startLine; l <= unit.endLine; l++) parts.push(`${String(l).padStart(width)}| ${lines.text(l)}`);
  }
  return parts.join('\n');
}
