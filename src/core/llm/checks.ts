/**
 * The three checks an answer must pass before its insertions are kept:
 *  (a) the original code is intact: every original line is still there, unchanged and in order,
 *      and no inserted text runs into it (a comment or string opened in an insertion and closed in
 *      original code would hide that code);
 *  (b) the result parses with the language's grammar without ERROR or MISSING nodes;
 *  (c) the function got the exact entry and exit statements, in code (not comments), with an exit
 *      before every `return` unless the exit sits in a finally/ensure/defer that covers them;
 *  (d) nothing else was added: no code of the model's own, no block opened around original code,
 *      except the language's one wrapping (try/finally, ensure) around the whole body;
 *  (e) every original token of the function keeps its place in the syntax tree, so no insertion
 *      joined an original statement (`x =` continued on the next line takes the statement as value).
 */
import { parse, syntaxErrors, type Node } from '../tree-sitter/index.js';
import { applyPlaced, type Placed } from './insertions.js';
import { type EventKind, type LanguageStatements } from './statements.js';
import type { Lines, Unit } from './units.js';

type Ranges = ReturnType<typeof applyPlaced>['ranges'];

/** (a) Output lines outside the insertions, joined, must be the original exactly. */
export function originalLinesKept(original: string, output: string, ranges: Ranges): string | null {
  let rest = '';
  let from = 0;
  for (const r of ranges) {
    rest += output.slice(from, r.start);
    from = r.end;
  }
  rest += output.slice(from);
  if (rest !== original) return 'the original lines are not all kept unchanged and in order';
  for (const r of ranges) {
    if (!output.slice(r.start, r.end).endsWith('\n') || (r.start > 0 && output[r.start - 1] !== '\n')) {
      return `inserted code ${r.placed.insertion.where} line ${r.placed.insertion.line} does not stand on lines of its own`;
    }
  }
  return null;
}

/** (a) A token holding both inserted and original non-blank text means the insertion swallowed original code. */
/** Whether output offset i is in inserted text. */
const insideOf = (ranges: Ranges) => (i: number) => ranges.some((r) => i >= r.start && i < r.end);

function straddles(root: Node, output: string, ranges: Ranges): string | null {
  const inside = insideOf(ranges);
  const stack: Node[] = [root];
  while (stack.length) {
    const node = stack.pop()!;
    if (node.childCount > 0 && !node.type.includes('comment')) {
      for (let i = 0; i < node.childCount; i++) stack.push(node.child(i)!);
      continue;
    }
    let ins = false;
    let orig = false;
    for (let i = node.startIndex; i < node.endIndex && !(ins && orig); i++) {
      if (/\s/.test(output[i]!)) continue;
      if (inside(i)) ins = true;
      else orig = true;
    }
    if (ins && orig) return `inserted code merges with original code at line ${node.startPosition.row + 1} (${JSON.stringify(node.text.slice(0, 40))})`;
  }
  return null;
}

/**
 * (e) Each original token of the function (its offsets in the output shifted by what was inserted
 * before it) has the same ancestor types as in the original, leaving out nodes that begin and end in
 * inserted text (the try/finally wrapping).
 */
function treeKept(originalRoot: Node, outputRoot: Node, ranges: Ranges, from: number, to: number): string | null {
  const inside = insideOf(ranges);
  const shift = (o: number) => o + ranges.reduce((n, r) => n + (r.placed.offset <= o ? r.end - r.start : 0), 0);
  const ancestors = (leaf: Node) => {
    const out: Node[] = [];
    for (let n = leaf.parent; n; n = n.parent) out.push(n);
    return out;
  };
  // Can the output's ancestors become the original's by leaving out nodes bounded by inserted text?
  const reducible = (got: Node[], want: string[]) => {
    let can = new Array<boolean>(want.length + 1).fill(false);
    can[want.length] = true; // from the end: got[i..] against want[j..]
    for (let i = got.length - 1; i >= 0; i--) {
      const next = new Array<boolean>(want.length + 1).fill(false);
      const removable = inside(got[i]!.startIndex) && inside(got[i]!.endIndex - 1);
      for (let j = want.length; j >= 0; j--) next[j] = (removable && can[j]!) || (j < want.length && got[i]!.type === want[j] && can[j + 1]!);
      can = next;
    }
    return can[0]!;
  };
  const stack: Node[] = [originalRoot];
  while (stack.length) {
    const node = stack.pop()!;
    if (node.endIndex <= from || node.startIndex >= to) continue;
    if (node.childCount > 0) {
      for (let i = node.childCount - 1; i >= 0; i--) stack.push(node.child(i)!); // popped in text order
      continue;
    }
    if (node.startIndex === node.endIndex) continue;
    const start = shift(node.startIndex);
    const moved = outputRoot.descendantForIndex(start, start + node.endIndex - node.startIndex);
    if (!moved || moved.type !== node.type || !reducible(ancestors(moved), ancestors(node).map((n) => n.type))) {
      return `inserted code changes how original line ${node.startPosition.row + 1} is read (at ${JSON.stringify(node.text.slice(0, 40))}): insert whole statements between statements only`;
    }
  }
  return null;
}

const SCOPE_EXIT = /finally|ensure|defer/;

const ENTER = '\u0001';
const EXIT = '\u0002';

/**
 * (d) The insertions at each place, with the given statements taken out and whitespace dropped,
 * must be statements only, or the wrapping: `try{` after the entry in the function's first
 * insertion and `}finally{<exit>}` before its closing line, or `ensure<exit>` there (Ruby).
 */
function onlyGivenStatements(unit: Unit, lines: Lines, statements: LanguageStatements, expected: Record<EventKind, string>, placed: readonly Placed[]): string | null {
  const groups = new Map<number, { text: string; first: Placed }>();
  for (const p of [...placed].sort((a, b) => a.offset - b.offset)) {
    const g = groups.get(p.offset) ?? { text: '', first: p };
    g.text += p.text;
    groups.set(p.offset, g);
  }
  const closing = lines.start(unit.endLine);
  const firstOffset = Math.min(...groups.keys());
  const wrap = statements.wrap;
  for (const [offset, { text, first }] of groups) {
    const shape = text.split(expected.enter).join(ENTER).split(expected.exit).join(EXIT).replace(/\s+/g, '');
    if (/^[\u0001\u0002]+$/.test(shape)) continue;
    if (wrap === 'try-finally' && shape === `${ENTER}try{` && offset === firstOffset) continue;
    if (wrap === 'try-finally' && shape === `}finally{${EXIT}}` && offset === closing) continue;
    if (wrap === 'ensure' && shape === `ensure${EXIT}` && offset === closing) continue;
    const rest = shape.replace(/[\u0001\u0002]/g, ' ').trim().slice(0, 60);
    const allowed = wrap === 'try-finally'
      ? ', plus `try {` right after the entry statement and `} finally {`, the exit statement and `}` right before the function\'s closing line'
      : wrap === 'ensure' ? ', plus `ensure` and the exit statement right before the method\'s final `end`' : '';
    return `inserted code ${first.insertion.where} line ${first.insertion.line} adds code of its own (${JSON.stringify(rest)}): insert the given statements exactly as written and nothing else${allowed}`;
  }
  return null;
}

/** Validates one function's insertions applied alone to the original. Returns the problems (empty: accepted). */
export async function checkUnit(
  original: string,
  originalRoot: Node,
  lines: Lines,
  language: string,
  statements: LanguageStatements,
  unit: Unit,
  expected: Record<EventKind, string>,
  placed: readonly Placed[],
  nested: readonly Unit[],
): Promise<string[]> {
  const { code: output, ranges } = applyPlaced(original, placed);
  const kept = originalLinesKept(original, output, ranges);
  if (kept) return [kept];
  const tree = await parse(output, language);
  try {
    const problems: string[] = [];
    const errors = syntaxErrors(tree);
    if (errors.length) {
      // Report lines of the original file: subtract what was inserted above.
      const origLine = (outLine: number) => outLine - ranges.filter((r) => output.slice(0, r.end).split('\n').length - 1 < outLine).reduce((n, r) => n + r.placed.text.split('\n').length - 1, 0);
      problems.push(...errors.slice(0, 3).map((e) => `the result does not parse: ${e.message} near original line ${Math.max(1, origLine(e.line))}`));
    }
    const merged = straddles(tree.rootNode, output, ranges);
    if (merged) problems.push(merged);
    if (problems.length) return problems;
    const added = onlyGivenStatements(unit, lines, statements, expected, placed);
    if (added) return [added];
    const moved = treeKept(originalRoot, tree.rootNode, ranges, lines.start(unit.startLine), lines.start(unit.endLine + 1));
    if (moved) return [moved];

    // (c) exact statements, in code.
    const found = (kind: EventKind) => {
      const at: number[] = [];
      for (const r of ranges) {
        const text = output.slice(r.start, r.end);
        for (let i = text.indexOf(expected[kind]); i >= 0; i = text.indexOf(expected[kind], i + 1)) {
          const node = tree.rootNode.descendantForIndex(r.start + i, r.start + i + 1);
          if (!node?.type.includes('comment')) at.push(r.start + i);
        }
      }
      return at;
    };
    const enters = found('enter');
    const exits = found('exit');
    if (enters.length === 0) problems.push(`function ${unit.id} (${unit.name}) has no entry statement: insert the given entry statement exactly as written, as code`);
    if (exits.length === 0) problems.push(`function ${unit.id} (${unit.name}) has no exit statement: insert the given exit statement exactly as written, as code (${statements.exitAdvice})`);
    if (problems.length) return problems;

    const coveredByScopeExit = statements.exitGuard !== undefined || exits.some((pos) => {
      for (let n: Node | null = tree.rootNode.descendantForIndex(pos, pos + 1); n; n = n.parent) if (SCOPE_EXIT.test(n.type)) return true;
      return false;
    });
    if (!coveredByScopeExit) {
      const exitStarts = new Set(ranges.filter((r) => output.slice(r.start, r.end).includes(expected.exit)).map((r) => r.placed.offset));
      for (let l = unit.startLine + 1; l <= unit.endLine; l++) {
        if (nested.some((n) => l >= n.startLine && l <= n.endLine)) continue;
        if (/^\s*return\b/.test(lines.text(l)) && !exitStarts.has(lines.start(l))) {
          problems.push(`line ${l} returns without the exit statement right before it`);
        }
      }
    }
    return problems;
  } finally {
    tree.delete();
  }
}

/** (b) for the whole file once every accepted function's insertions are in. */
export async function parsesCleanly(code: string, language: string): Promise<string | null> {
  const tree = await parse(code, language);
  try {
    const e = syntaxErrors(tree)[0];
    return e ? `line ${e.line}: ${e.message}` : null;
  } finally {
    tree.delete();
  }
}
