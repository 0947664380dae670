/**
 * Entry/exit event streams (what LLM-instrumented code prints, one JSON object per line:
 * {"ev":"cti.enter"|"cti.exit","fn","file","line","lang","ts","tid"}) turned into spans of
 * docs/telemetry.md: per thread, an exit closes the innermost open call of that function; calls
 * open at that moment inside it lost their exit (an exception, an early exit) and end with it,
 * as ERROR. A call without any exit ends at the stream's last timestamp, marked cti.unfinished.
 */
import { randomBytes } from 'node:crypto';
import type { SpanData } from '../runtime/span-data.js';

interface Frame { span: SpanData; fn: string }

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** True for a line of an event stream (as opposed to a span line). */
export function isEventLine(v: unknown): boolean {
  return isObj(v) && typeof v.ev === 'string' && v.ev.startsWith('cti.');
}

const hex = (bytes: number) => {
  let id: string;
  do id = randomBytes(bytes).toString('hex'); while (/^0+$/.test(id));
  return id;
};

export class EventSpans {
  private readonly stacks = new Map<string, Frame[]>();
  private done: SpanData[] = [];
  private lastTs = 0n;

  constructor(private readonly service?: string) {}

  /**
   * Adds one event. `raw` is its line: "ts" is read from the text because Unix nanoseconds do not
   * fit a double. Returns why the event was not used, or null.
   */
  add(v: unknown, raw: string): string | null {
    if (!isObj(v) || (v.ev !== 'cti.enter' && v.ev !== 'cti.exit')) return 'unknown event (expected "ev": "cti.enter" or "cti.exit")';
    if (typeof v.fn !== 'string' || typeof v.file !== 'string' || typeof v.line !== 'number' || typeof v.lang !== 'string') return 'event without "fn", "file", "line" or "lang"';
    const ts = /"ts"\s*:\s*"?(\d{1,20})"?/.exec(raw)?.[1];
    if (!ts) return 'event without a "ts" in Unix nanoseconds';
    const time = BigInt(ts);
    if (time > this.lastTs) this.lastTs = time;
    const key = `${v.lang}\0${String(v.pid ?? '')}\0${String(v.tid ?? '')}`;
    let stack = this.stacks.get(key);
    if (!stack) this.stacks.set(key, (stack = []));
    if (v.ev === 'cti.enter') {
      const parent = stack.at(-1)?.span;
      stack.push({
        fn: v.fn,
        span: {
          trace_id: parent?.trace_id ?? hex(16), span_id: hex(8), parent_span_id: parent?.span_id ?? null, name: v.fn,
          start_time_unix_nano: ts, end_time_unix_nano: ts,
          attributes: { 'code.function.name': v.fn, 'code.file.path': v.file, 'code.line.number': v.line, 'cti.lang': v.lang },
          events: [], dropped_events_count: 0, status: { code: 'OK' },
          resource: { 'service.name': this.service ?? `unknown_service:${v.lang}`, 'telemetry.sdk.name': 'code-telemetry-injector' },
        },
      });
      return null;
    }
    let at = stack.length - 1;
    while (at >= 0 && stack[at]!.fn !== v.fn) at--;
    if (at < 0) return `exit of ${v.fn} without a matching entry`;
    const closed = stack.splice(at);
    closed.forEach((frame, i) => {
      frame.span.end_time_unix_nano = ts;
      // closed[0] is the call this exit belongs to; the rest were left without their own exit.
      if (i > 0) frame.span.status = { code: 'ERROR', message: 'no exit event recorded (left by an exception or an early exit)' };
    });
    this.done.push(...closed.reverse().map((f) => f.span));
    return null;
  }

  /** Spans finished so far (each returned once). */
  drain(): SpanData[] {
    const out = this.done;
    this.done = [];
    return out;
  }

  /** Every remaining span: calls still open end at the last timestamp seen. */
  finish(): SpanData[] {
    for (const stack of this.stacks.values()) {
      for (const frame of stack.splice(0).reverse()) {
        frame.span.end_time_unix_nano = String(this.lastTs);
        frame.span.attributes['cti.unfinished'] = true;
        this.done.push(frame.span);
      }
    }
    return this.drain();
  }
}
