import MagicString from 'magic-string';
import type { SourceMapV3 } from './types.js';

/**
 * Insertion-only edits. Several insertions may land on one offset; the order they must
 * appear in follows from nesting: text that closes an inner construct comes before text
 * that closes an outer one, and openings go outer first. `depth` is the nesting level of
 * the construct the text belongs to; of two wrappers at one depth, the one added later is
 * the outer one (callers add a node's own wrappers before its parent's).
 */
interface Insertion {
  pos: number;
  text: string;
  depth: number;
  closing: boolean;
  seq: number;
}

export class InsertionList {
  private items: Insertion[] = [];

  open(pos: number, text: string, depth: number): void {
    this.items.push({ pos, text, depth, closing: false, seq: this.items.length });
  }

  close(pos: number, text: string, depth: number): void {
    this.items.push({ pos, text, depth, closing: true, seq: this.items.length });
  }

  get size(): number {
    return this.items.length;
  }

  /** Applies every insertion; the original text is never removed or rewritten. */
  apply(code: string, filename: string, sourceMap: boolean): { code: string; map: SourceMapV3 | null } {
    const sorted = [...this.items].sort(
      (a, b) =>
        a.pos - b.pos ||
        Number(b.closing) - Number(a.closing) ||
        (a.closing ? b.depth - a.depth || a.seq - b.seq : a.depth - b.depth || b.seq - a.seq),
    );
    const s = new MagicString(code);
    for (const it of sorted) s.appendLeft(it.pos, it.text);
    const out = s.toString();
    if (!sourceMap) return { code: out, map: null };
    const map = s.generateMap({ source: filename, file: filename, includeContent: true, hires: 'boundary' });
    return { code: out, map: { ...map, version: 3 } as SourceMapV3 };
  }
}
