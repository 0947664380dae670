import remapping, { type SourceMapInput } from '@jridgewell/remapping';
import type { SourceMapV3 } from './types.js';

/**
 * Chains our map (instrumented → input) with the input's own map (input → its sources, e.g.
 * tsc's .js → .ts), so that positions in the instrumented code lead to the original sources.
 */
export function composeSourceMaps(ours: SourceMapV3, input: SourceMapV3): SourceMapV3 {
  // Our map has one source: the input file, whose map is `input`. Deeper maps are not followed.
  let depth = 0;
  const composed = remapping(ours as SourceMapInput, () => (depth++ === 0 ? (input as SourceMapInput) : null));
  return { ...composed, file: ours.file } as unknown as SourceMapV3;
}

const SOURCE_MAPPING_URL = /\/[/*][#@]\s*sourceMappingURL=([^\s*]+)\s*(?:\*\/\s*)?$/;

/** The URL of the source map a file points to (its last sourceMappingURL comment), if any. */
export function sourceMappingUrl(code: string): string | null {
  const tail = code.slice(Math.max(0, code.lastIndexOf('sourceMappingURL=') - 8));
  return SOURCE_MAPPING_URL.exec(tail.trimEnd())?.[1] ?? null;
}

/** The map inlined in a `data:` URL, or null when the URL is not one. Throws on a malformed one. */
export function decodeDataUrl(url: string): SourceMapV3 | null {
  const m = /^data:application\/json(?:;charset=[\w-]+)?(;base64)?,(.*)$/s.exec(url);
  if (!m) return null;
  const text = m[1] ? Buffer.from(m[2], 'base64').toString('utf8') : decodeURIComponent(m[2]);
  return JSON.parse(text) as SourceMapV3;
}
