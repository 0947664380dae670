/**
 * `cti serve --import <file.jsonl>`: spans of a CTI_TRACES_FILE (one SpanData per line, as
 * docs/telemetry.md defines it) into the store. A line that is not a span is skipped and reported
 * with its number; the rest is stored. Lines of entry/exit event streams (LLM-instrumented
 * languages, see event-spans.ts) are recognised per line and turned into spans.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { SpanData } from '../runtime/span-data.js';
import { EventSpans, isEventLine } from './event-spans.js';
import type { TraceStore } from './store.js';

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const NANOS = /^\d{1,20}$/;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why `v` is not a span line, or null when it is one. */
export function spanLineProblem(v: unknown): string | null {
  if (!isObj(v)) return 'not a JSON object';
  if (typeof v.trace_id !== 'string' || !HEX32.test(v.trace_id)) return 'trace_id is not 32 lowercase hex digits';
  if (typeof v.span_id !== 'string' || !HEX16.test(v.span_id)) return 'span_id is not 16 lowercase hex digits';
  if (v.parent_span_id !== null && (typeof v.parent_span_id !== 'string' || !HEX16.test(v.parent_span_id))) return 'parent_span_id is neither null nor 16 hex digits';
  if (typeof v.name !== 'string') return 'name is not a string';
  if (typeof v.start_time_unix_nano !== 'string' || !NANOS.test(v.start_time_unix_nano)) return 'start_time_unix_nano is not a decimal string';
  if (typeof v.end_time_unix_nano !== 'string' || !NANOS.test(v.end_time_unix_nano)) return 'end_time_unix_nano is not a decimal string';
  if (!isObj(v.attributes) || !isObj(v.resource) || !Array.isArray(v.events)) return 'attributes, events or resource missing';
  if (!isObj(v.status) || (v.status.code !== 'OK' && v.status.code !== 'ERROR')) return 'status.code is not OK or ERROR';
  return null;
}

export interface ImportResult { spans: number; skipped: Array<{ line: number; reason: string }> }

export async function importJsonl(file: string, store: TraceStore, batch = 2000): Promise<ImportResult> {
  const result: ImportResult = { spans: 0, skipped: [] };
  let pending: SpanData[] = [];
  let n = 0;
  const events = new EventSpans();
  for await (const text of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    n++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      result.skipped.push({ line: n, reason: 'not valid JSON' });
      continue;
    }
    if (isEventLine(value)) {
      const why = events.add(value, text);
      if (why) result.skipped.push({ line: n, reason: why });
      pending.push(...events.drain());
      continue;
    }
    const problem = spanLineProblem(value);
    if (problem) {
      result.skipped.push({ line: n, reason: problem });
      continue;
    }
    pending.push(value as SpanData);
    if (pending.length >= batch) {
      store.insert(pending);
      result.spans += pending.length;
      pending = [];
    }
  }
  pending.push(...events.finish());
  store.insert(pending);
  result.spans += pending.length;
  return result;
}
