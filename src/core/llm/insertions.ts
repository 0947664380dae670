/**
 * Turns the model's insertion points into text inserted between original lines. Only insertion:
 * an original character is never removed or changed, so the worst a bad answer can do is fail
 * validation.
 */
import type { Lines, Unit } from './units.js';

export interface Insertion { function: number; line: number; where: 'before' | 'after'; code: string }

export interface Placed {
  unit: number;
  /** Offset in the original code (a line start, or the end of the code). */
  offset: number;
  text: string;
  /** What the model sent, for feedback and lessons. */
  insertion: Insertion;
}

const indentOf = (line: string) => /^[ \t]*/.exec(line)![0];

/** Common leading whitespace removed, then every line indented like its neighbour in the file. */
function reindent(code: string, indent: string): string {
  const lines = code.replace(/\r\n?/g, '\n').replace(/^\n+|\s+$/g, '').split('\n');
  const common = Math.min(...lines.filter((l) => l.trim()).map((l) => indentOf(l).length));
  return lines.map((l) => (l.trim() ? indent + l.slice(Number.isFinite(common) ? common : 0) : '')).join('\n');
}

/** Where an insertion goes, or why it cannot. Allowed: after the function's first line up to before its last line. */
export function place(unit: Unit, ins: Insertion, lines: Lines): Placed | string {
  const { line, where } = ins;
  if (!Number.isInteger(line)) return `"line" must be an integer`;
  const at = where === 'after' ? line + 1 : line;
  if (at <= unit.startLine || at > unit.endLine) {
    return `${where} line ${line} is not inside the function (allowed: after lines ${unit.startLine}-${unit.endLine - 1}, before lines ${unit.startLine + 1}-${unit.endLine})`;
  }
  if (typeof ins.code !== 'string' || ins.code.trim() === '') return `empty "code" ${where} line ${line}`;
  // Indent like the next line, unless that is the function's closing line: then like the line before.
  const ref = at < unit.endLine || lines.text(at).trim() === '' ? lines.text(at) : lines.text(at - 1);
  const needsNewline = lines.start(at) === lines.code.length && !lines.code.endsWith('\n');
  return { unit: unit.id, offset: lines.start(at), text: `${needsNewline ? '\n' : ''}${reindent(ins.code, indentOf(ref))}\n`, insertion: ins };
}

/** The code with the insertions, and where each landed in it. Same offset: in the order given. */
export function applyPlaced(code: string, placed: readonly Placed[]): { code: string; ranges: Array<{ start: number; end: number; placed: Placed }> } {
  const sorted = placed.map((p, i) => ({ p, i })).sort((a, b) => a.p.offset - b.p.offset || a.i - b.i).map((x) => x.p);
  let out = '';
  let from = 0;
  const ranges: Array<{ start: number; end: number; placed: Placed }> = [];
  for (const p of sorted) {
    out += code.slice(from, p.offset);
    from = p.offset;
    ranges.push({ start: out.length, end: out.length + p.text.length, placed: p });
    out += p.text;
  }
  return { code: out + code.slice(from), ranges };
}
