/**
 * `cti export --mermaid <trace-id>`: a trace as a Mermaid sequence diagram. Participants are the
 * functions (in order of first call); each call is an arrow from the caller, each return a dashed
 * arrow back carrying the return value or the exception.
 */
import type { SpanData } from '../runtime/span-data.js';

const byStart = (a: SpanData, b: SpanData) => (BigInt(a.start_time_unix_nano) < BigInt(b.start_time_unix_nano) ? -1 : 1);

/** Text Mermaid shows as is (no `;`, `#` or newlines, bounded). */
function label(s: string, max = 60): string {
  const clean = s.replace(/[\r\n]+/g, ' ').replace(/[;#]/g, ',');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

export function toMermaid(spans: SpanData[]): string {
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<string | null, SpanData[]>();
  for (const s of [...spans].sort(byStart)) {
    const parent = s.parent_span_id !== null && ids.has(s.parent_span_id) ? s.parent_span_id : null;
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const participants = new Map<string, string>();
  const alias = (name: string) => {
    if (!participants.has(name)) participants.set(name, `p${participants.size}`);
    return participants.get(name)!;
  };
  alias('caller');
  const body: string[] = [];
  const walk = (parent: SpanData | null) => {
    for (const s of children.get(parent?.span_id ?? null) ?? []) {
      const from = alias(parent ? parent.name : 'caller');
      const to = alias(s.name);
      const args = Object.entries(s.attributes).filter(([k]) => k.startsWith('cti.arg.')).map(([k, v]) => `${k.slice(8)}=${v}`).join(', ');
      body.push(`  ${from}->>${to}: ${label(`${s.name}(${args})`)}`);
      walk(s);
      const exception = s.events.find((e) => e.name === 'exception');
      if (s.status.code === 'ERROR') body.push(`  ${to}--x${from}: ${label(`throws ${exception ? `${exception.attributes['exception.type']}: ${exception.attributes['exception.message']}` : s.status.message ?? 'error'}`)}`);
      else body.push(`  ${to}-->>${from}: ${label(s.attributes['cti.return'] !== undefined ? String(s.attributes['cti.return']) : 'return')}`);
    }
  };
  walk(null);
  const head = [...participants].map(([name, id]) => `  participant ${id} as ${label(name, 80)}`);
  return ['sequenceDiagram', ...head, ...body].join('\n');
}
