/**
 * LLM-assisted instrumentation of one file: tree-sitter finds the functions, the model says where
 * the entry/exit statements go, and every function's answer is checked (checks.ts). A rejected
 * answer is asked again with the problems fed back, at most MAX_ATTEMPTS times per function; then
 * that function is left as it is and a diagnostic says why. A file that does not parse, or whose
 * combined result would not parse, is returned unchanged.
 */
import type { Diagnostic, InstrumentStats } from '../types.js';
import { languageInfo, parse, syntaxErrors } from '../tree-sitter/index.js';
import { parseAnswer } from './answer.js';
import { checkUnit, parsesCleanly } from './checks.js';
import type { LlmClient } from './client.js';
import { applyPlaced, place, type Placed } from './insertions.js';
import type { LessonBook } from './lessons.js';
import { buildPrompt, SYSTEM_PROMPT, type PromptUnit } from './prompt.js';
import { STATEMENTS, type EventKind } from './statements.js';
import { findUnits, Lines, type Unit } from './units.js';

export const MAX_ATTEMPTS = 3;
/** Function text per request: keeps prompts (and worst-case budget reservations) bounded. */
const BATCH_CHARS = 6000;

export interface LlmFileOptions {
  filename: string;
  /** code.file.path of the events. */
  relativePath: string;
  language: string;
  client: LlmClient;
  lessons: LessonBook;
}

export interface LlmFileResult {
  code: string;
  instrumented: boolean;
  diagnostics: Diagnostic[];
  stats: InstrumentStats;
  /** Model requests made for this file. */
  calls: number;
  /** False when a function was left out for a reason that may go away (budget, network): do not cache. */
  final: boolean;
}

interface UnitState {
  unit: Unit;
  statements: Record<EventKind, string>;
  attempts: number;
  problems: string[];
  previous?: string;
  accepted?: Placed[];
  /** Left uninstrumented: why. */
  failed?: string;
  transient?: boolean;
}

const describe = (placed: readonly { insertion: { where: string; line: number } }[]) =>
  placed.map((p) => `${p.insertion.where} line ${p.insertion.line}`).join(', ') || 'none';

function batches(states: UnitState[]): UnitState[][] {
  const out: UnitState[][] = [];
  let current: UnitState[] = [];
  let size = 0;
  for (const s of states) {
    const chars = (s.unit.endLine - s.unit.startLine + 1) * 60;
    if (current.length && size + chars > BATCH_CHARS) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(s);
    size += chars;
  }
  if (current.length) out.push(current);
  return out;
}

export async function instrumentWithLlm(code: string, opts: LlmFileOptions): Promise<LlmFileResult> {
  const { filename, relativePath, language, client, lessons } = opts;
  const statements = STATEMENTS[language];
  const unchanged = (diagnostics: Diagnostic[], calls = 0, final = true): LlmFileResult => ({
    code, instrumented: false, diagnostics, stats: { functions: 0, variables: 0, branches: 0, loops: 0 }, calls, final,
  });
  const diag = (line: number, severity: Diagnostic['severity'], message: string): Diagnostic => ({ file: filename, line, column: line ? 1 : 0, severity, message });
  if (!statements) return unchanged([diag(0, 'info', `no LLM statements for ${language}`)]);

  const tree = await parse(code, language);
  // The original's tree serves every function's check (e), then goes.
  try {
    const broken = syntaxErrors(tree)[0];
    if (broken) return unchanged([diag(broken.line, 'error', `does not parse (${broken.message}); not sent to a model`)]);

    const lines = new Lines(code);
    const { units, skipped } = await findUnits(code, language);
    const diagnostics = skipped.map((s) => diag(s.line, 'info', `${s.name} not instrumented: ${s.reason}`));
    if (units.length === 0) return unchanged([...diagnostics, diag(0, 'info', 'no multi-line named functions to instrument')]);

    const states: UnitState[] = units.map((unit) => {
      const site = { fn: unit.name, file: relativePath, line: unit.startLine };
      const exit = statements.statement('exit', site);
      return { unit, statements: { enter: statements.statement('enter', site), exit: statements.exitGuard?.(exit, site) ?? exit }, attempts: 0, problems: [] };
    });
    const languageName = languageInfo(language)?.name ?? language;
    let calls = 0;

    const fail = (s: UnitState, reason: string, transient = false) => {
      s.failed = reason;
      s.transient = transient;
    };

    for (;;) {
      const pending = states.filter((s) => !s.accepted && !s.failed);
      if (pending.length === 0) break;
      for (const batch of batches(pending)) {
        const promptUnits: PromptUnit[] = batch.map((s) => ({
          unit: s.unit, statements: s.statements,
          ...(s.attempts > 0 ? { feedback: { problems: s.problems, previous: s.previous ?? 'none' } } : {}),
        }));
        const user = buildPrompt({ languageName, file: relativePath, lines, units: promptUnits, exitAdvice: statements.exitAdvice, lessons: lessons.forPrompt(language) });
        const asked = await client.ask(SYSTEM_PROMPT, user);
        if (!asked.ok) {
          for (const s of batch) fail(s, asked.kind === 'budget' ? asked.reason : `model request failed: ${asked.reason}`, true);
          continue;
        }
        calls++;
        const answer = parseAnswer(asked.answer.text, asked.answer.refusal);
        if (answer.kind === 'refusal') {
          // Asking again with the same request rarely changes a refusal, and each try costs money.
          for (const s of batch) fail(s, `the model (${asked.model}) declined: ${answer.text.slice(0, 120)}`);
          continue;
        }
        for (const s of batch) {
          s.attempts++;
          let problems: string[];
          let placed: Placed[] = [];
          if (answer.kind === 'unreadable') {
            problems = [answer.problem];
          } else {
            problems = [...answer.problems];
            for (const ins of answer.insertions.filter((i) => i.function === s.unit.id)) {
              const p = place(s.unit, ins, lines);
              if (typeof p === 'string') problems.push(p);
              else placed.push(p);
            }
            const nested = units.filter((u) => u.id !== s.unit.id && u.startLine >= s.unit.startLine && u.endLine <= s.unit.endLine);
            if (problems.length === 0) {
              problems = placed.length === 0
                ? [`no insertions for function ${s.unit.id}`]
                : await checkUnit(code, tree.rootNode, lines, language, statements, s.unit, s.statements, placed, nested);
            }
          }
          if (problems.length === 0) {
            s.accepted = placed;
            if (s.attempts > 1) for (const p of s.problems) lessons.record(language, p, `insertions ${describe(placed)} of a ${s.unit.endLine - s.unit.startLine + 1}-line function`);
            continue;
          }
          for (const p of problems) lessons.record(language, p);
          s.problems = problems;
          s.previous = describe(placed);
          if (s.attempts >= MAX_ATTEMPTS) fail(s, `rejected ${MAX_ATTEMPTS} times; last: ${problems.join('; ')}`);
        }
      }
    }

    // Every accepted function passed alone; together they must parse too, else drop the latest until they do.
    let accepted = states.filter((s) => s.accepted);
    let output = code;
    for (;;) {
      if (accepted.length === 0) break;
      const placed = accepted.flatMap((s) => s.accepted!);
      const missing = (statements.prelude ?? []).filter((l) => !new RegExp(`^\\s*${l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s*')}\\s*$`, 'm').test(code));
      const prelude: Placed[] = missing.length ? [preludeAt(code, statements.preludeAfter, missing)] : [];
      output = applyPlaced(code, [...prelude, ...placed]).code;
      const problem = await parsesCleanly(output, language);
      if (!problem) break;
      const dropped = accepted.pop()!;
      fail(dropped, `its logging does not parse together with the other functions' (${problem})`);
      dropped.accepted = undefined;
    }
    accepted = states.filter((s) => s.accepted);
    for (const s of states) {
      if (s.failed) diagnostics.push(diag(s.unit.startLine, 'warning', `${s.unit.name} left uninstrumented: ${s.failed}`));
    }
    const final = !states.some((s) => s.transient);
    if (accepted.length === 0) return unchanged(diagnostics, calls, final);
    return { code: output, instrumented: true, diagnostics, stats: { functions: accepted.length, variables: 0, branches: 0, loops: 0 }, calls, final };
  } finally {
    tree.delete();
  }
}

/** The missing prelude lines, at the top or after the last line matching `after` (and its newline). */
function preludeAt(code: string, after: RegExp | undefined, missing: string[]): Placed {
  let offset = 0;
  for (const m of after ? code.matchAll(after) : []) offset = m.index + m[0].length;
  if (offset > 0) offset = code.indexOf('\n', offset) + 1 || code.length;
  const text = offset === code.length && offset > 0 && !code.endsWith('\n') ? `\n${missing.join('\n')}\n` : `${missing.join('\n')}\n`;
  const line = code.slice(0, offset).split('\n').length;
  return { unit: 0, offset, text, insertion: { function: 0, line, where: 'before', code: '' } };
}
