import type { SpanData } from '../runtime/span-data.js';

export interface TreeOptions {
  /** Extra text after each span's `name:line`, e.g. its arguments and duration. */
  detail?: (span: SpanData) => string;
  /** Colours the parts of a line (a terminal's styles); default: none. */
  style?: (part: 'name' | 'error' | 'detail', text: string) => string;
}

function byStart(a: SpanData, b: SpanData): number {
  const x = BigInt(a.start_time_unix_nano);
  const y = BigInt(b.start_time_unix_nano);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Spans as indented trees, one line each: `name:line` plus ` ERROR` for failed calls. A span
 * whose parent is not among `spans` is shown as a root.
 */
export function spanTree(spans: SpanData[], options: TreeOptions = {}): string {
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<string | null, SpanData[]>();
  for (const s of spans) {
    const parent = s.parent_span_id !== null && ids.has(s.parent_span_id) ? s.parent_span_id : null;
    const list = children.get(parent);
    if (list) list.push(s);
    else children.set(parent, [s]);
  }
  const lines: string[] = [];
  const walk = (parent: string | null, indent: string) => {
    for (const s of (children.get(parent) ?? []).sort(byStart)) {
      const style = options.style ?? ((_part: string, text: string) => text);
      const error = s.status.code === 'ERROR' ? style('error', ' ERROR') : '';
      const detail = options.detail ? style('detail', options.detail(s)) : '';
      lines.push(`${indent}${style('name', `${s.name}:${s.attributes['code.line.number']}`)}${error}${detail}`);
      walk(s.span_id, `${indent}  `);
    }
  };
  walk(null, '');
  return lines.join('\n');
}

export function durationMs(s: SpanData): number {
  return Number(BigInt(s.end_time_unix_nano) - BigInt(s.start_time_unix_nano)) / 1e6;
}

/** A call's arguments, return value, duration and event count, for one tree line. */
export function callDetail(s: SpanData): string {
  const args = Object.entries(s.attributes)
    .filter(([k]) => k.startsWith('cti.arg.'))
    .map(([k, v]) => `${k.slice(8)}=${v}`)
    .join(', ');
  const ret = s.attributes['cti.return'] !== undefined ? ` → ${s.attributes['cti.return']}` : '';
  const events = s.events.length ? `  [${s.events.length} events]` : '';
  const shortArgs = args.length > 60 ? `${args.slice(0, 59)}…` : args;
  return `(${shortArgs})${ret}  ${durationMs(s).toFixed(2)} ms${events}`;
}
