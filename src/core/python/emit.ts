/**
 * Insertion-only editing of Python source with a line map.
 *
 * Python is line-sensitive and a function body gets new lines (`try:`, handlers), so the output
 * cannot keep the original line numbers. Instead every output line records the original line it
 * stands for and the byte ranges on it that were inserted: the loader (src/py-import-hook)
 * parses the output with `ast`, moves every node back to its original line and column, and
 * compiles that, so tracebacks, inspect, pdb and coverage see the original file.
 */

/** Where an insertion goes relative to others at the same offset (lower first). */
export const enum Rank {
  /** Whole lines inserted before an original line. */
  LinesBefore = 0,
  /** Extra indentation at the start of an original line. */
  Prefix = 1,
  /** Text closing around a node (`))`, `; probe`): inner nodes close first. */
  Close = 2,
  /** Text opening before a node (`_cti.ret(_cti_s, (`): outer nodes open first. */
  Open = 3,
}

interface Insertion {
  offset: number;
  text: string;
  /** 1-based original line that output lines made only of this text stand for. */
  line: number;
  rank: Rank;
  /** Tie-break within a rank (ascending). */
  weight: number;
  seq: number;
}

/**
 * The line map the loader applies: `lines[i]` is the original 1-based line of output line i+1;
 * `inserted[i+1]` lists the [start, end) UTF-8 byte columns of output line i+1 that are not
 * original text (absent when the line has none).
 */
export interface PyLineMap {
  lines: number[];
  inserted: Record<number, [number, number][]>;
}

export class PyEdits {
  private readonly list: Insertion[] = [];

  constructor(private readonly source: string) {}

  insert(offset: number, text: string, line: number, rank: Rank, weight = 0): void {
    if (text) this.list.push({ offset, text, line, rank, weight, seq: this.list.length });
  }

  get size(): number {
    return this.list.length;
  }

  apply(): { code: string; map: PyLineMap } {
    const edits = [...this.list].sort((a, b) => a.offset - b.offset || a.rank - b.rank || a.weight - b.weight || a.seq - b.seq);
    const out: string[] = [];
    const lines: number[] = [];
    const inserted: Record<number, [number, number][]> = {};
    let origLine: number | null = null; // original line of this output line's original text
    let anchor: number | null = null; // line of the first insertion on it
    let col = 0; // UTF-8 bytes so far on this output line
    let ranges: [number, number][] = [];

    const push = (text: string, isInserted: boolean, line: number) => {
      let start = 0;
      while (start < text.length) {
        const nl = text.indexOf('\n', start);
        const end = nl < 0 ? text.length : nl + 1;
        const piece = text.slice(start, end);
        out.push(piece);
        const width = Buffer.byteLength(nl < 0 ? piece : piece.slice(0, -1), 'utf8');
        if (isInserted) {
          anchor ??= line;
          if (width > 0) ranges.push([col, col + width]);
        } else {
          origLine ??= line;
        }
        col += width;
        if (nl >= 0) {
          lines.push(origLine ?? anchor ?? line);
          if (ranges.length > 0) inserted[lines.length] = ranges;
          origLine = null;
          anchor = null;
          col = 0;
          ranges = [];
          if (!isInserted) line++;
        }
        start = end;
      }
    };

    let at = 0;
    let row = 1;
    const copy = (to: number) => {
      if (to <= at) return;
      const chunk = this.source.slice(at, to);
      push(chunk, false, row);
      for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) row++;
      at = to;
    };
    for (const e of edits) {
      copy(e.offset);
      push(e.text, true, e.line);
    }
    copy(this.source.length);
    if (origLine !== null || anchor !== null) {
      lines.push(origLine ?? anchor ?? row);
      if (ranges.length > 0) inserted[lines.length] = ranges;
    }
    return { code: out.join(''), map: { lines, inserted } };
  }
}
