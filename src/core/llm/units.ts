/** The functions of a file the model is asked about, and the file's line table. */
import { ANONYMOUS, findFunctions } from '../tree-sitter/index.js';

export interface Unit {
  /** 1-based, in source order: how prompts and answers name the function. */
  id: number;
  name: string;
  /** 1-based lines of the whole function. */
  startLine: number;
  endLine: number;
}

export interface SkippedFunction { name: string; line: number; reason: string }

/** Closures, lambdas and blocks are left out: the named functions around them are what a trace shows. */
const CLOSURE_TYPES = new Set([
  'lambda_expression', 'closure_expression', 'lambda_literal', 'anonymous_function', 'lambda', 'block', 'do_block',
  'arrow_function', 'anonymous_function_creation_expression', 'anonymous_method_expression',
]);

export class Lines {
  /** Offset where each line starts; index 0 is line 1. */
  readonly starts: number[] = [0];
  constructor(readonly code: string) {
    for (let i = code.indexOf('\n'); i >= 0; i = code.indexOf('\n', i + 1)) this.starts.push(i + 1);
    // A trailing newline does not open another line.
    if (code.endsWith('\n')) this.starts.pop();
  }
  get count(): number { return this.starts.length; }
  /** Start offset of line `n` (1-based); `count + 1` is the end of the code. */
  start(n: number): number { return n > this.count ? this.code.length : this.starts[n - 1]!; }
  text(n: number): string { return this.code.slice(this.start(n), this.start(n + 1)).replace(/\r?\n$/, ''); }
}

export async function findUnits(code: string, language: string): Promise<{ units: Unit[]; skipped: SkippedFunction[] }> {
  const units: Unit[] = [];
  const skipped: SkippedFunction[] = [];
  for (const fn of await findFunctions(code, language)) {
    if (fn.name === ANONYMOUS || CLOSURE_TYPES.has(fn.nodeType)) continue;
    // Insertions go between lines: a function on one line has no room for one.
    if (fn.startLine === fn.endLine) {
      skipped.push({ name: fn.name, line: fn.startLine, reason: 'written on one line' });
      continue;
    }
    units.push({ id: units.length + 1, name: fn.name, startLine: fn.startLine, endLine: fn.endLine });
  }
  return { units, skipped };
}
