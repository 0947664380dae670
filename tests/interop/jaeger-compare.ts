/**
 * Checks a trace as Jaeger's query API returns it (GET /api/traces/<id>, the UI's JSON model)
 * against the spans we sent, span by span, and lists every difference. Jaeger translates OTLP to
 * its own model on the way (status → otel.status_code/error tags, events → logs with an `event`
 * field, resource → process, ns → µs); the expectations below spell that translation out.
 */
import type { AttributeValue, Attributes, SpanData } from '../../src/runtime/span-data.js';

export interface JaegerKeyValue { key: string; type: string; value: unknown }
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[] | null;
  startTime: number;
  duration: number;
  tags: JaegerKeyValue[] | null;
  logs: { timestamp: number; fields: JaegerKeyValue[] }[] | null;
  processID: string;
  warnings: string[] | null;
}
export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: JaegerKeyValue[] | null }>;
}

/** The tag Jaeger should make of one OTLP attribute (our exporter sends integers as intValue). */
function tag(key: string, v: AttributeValue): JaegerKeyValue {
  if (typeof v === 'string') return { key, type: 'string', value: v };
  if (typeof v === 'boolean') return { key, type: 'bool', value: v };
  return { key, type: Number.isInteger(v) ? 'int64' : 'float64', value: v };
}

const tags = (attrs: Attributes) => Object.entries(attrs).map(([k, v]) => tag(k, v));
/** Order-free comparison: Jaeger sorts attributes by key and events by name. */
const canon = (kvs: JaegerKeyValue[]) => JSON.stringify([...kvs].sort((a, b) => a.key.localeCompare(b.key)));
const micros = (ns: string) => Number(BigInt(ns) / 1000n);

/** What Jaeger adds to every span from OTLP fields that are not attributes. */
function translatedTags(s: SpanData, scope: { name: string; version: string }): JaegerKeyValue[] {
  const out: JaegerKeyValue[] = [
    { key: 'otel.scope.name', type: 'string', value: scope.name },
    { key: 'otel.scope.version', type: 'string', value: scope.version },
    { key: 'span.kind', type: 'string', value: 'internal' },
    { key: 'otel.status_code', type: 'string', value: s.status.code },
  ];
  if (s.status.code === 'ERROR') out.push({ key: 'error', type: 'bool', value: true });
  if (s.status.message) out.push({ key: 'otel.status_description', type: 'string', value: s.status.message });
  return out;
}

function expectedLogs(s: SpanData): string[] {
  return s.events
    .map((e) => JSON.stringify({ timestamp: micros(e.time_unix_nano), fields: canon([{ key: 'event', type: 'string', value: e.name }, ...tags(e.attributes)]) }))
    .sort();
}

function actualLogs(j: JaegerSpan): string[] {
  return (j.logs ?? []).map((l) => JSON.stringify({ timestamp: l.timestamp, fields: canon(l.fields) })).sort();
}

/** Every difference between what we sent and what Jaeger returned; empty when they agree. */
export function diffJaegerTrace(sent: SpanData[], trace: JaegerTrace, scope: { name: string; version: string }): string[] {
  const problems: string[] = [];
  const got = new Map(trace.spans.map((j) => [j.spanID, j]));
  if (got.size !== trace.spans.length) problems.push(`Jaeger returned a span id twice (${trace.spans.length} spans, ${got.size} ids)`);
  for (const id of got.keys()) if (!sent.some((s) => s.span_id === id)) problems.push(`Jaeger has span ${id} that we never sent`);
  for (const s of sent) {
    const j = got.get(s.span_id);
    const at = `span ${s.name} ${s.span_id}`;
    if (!j) { problems.push(`${at}: missing in Jaeger`); continue; }
    const check = (what: string, actual: unknown, expected: unknown) => {
      if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`${at}: ${what} is ${JSON.stringify(actual)}, sent ${JSON.stringify(expected)}`);
    };
    check('traceID', j.traceID, s.trace_id);
    check('operationName', j.operationName, s.name);
    check('references', j.references ?? [], s.parent_span_id ? [{ refType: 'CHILD_OF', traceID: s.trace_id, spanID: s.parent_span_id }] : []);
    check('startTime (µs)', j.startTime, micros(s.start_time_unix_nano));
    check('duration (µs)', j.duration, Number((BigInt(s.end_time_unix_nano) - BigInt(s.start_time_unix_nano)) / 1000n));
    check('tags', canon(j.tags ?? []), canon([...tags(s.attributes), ...translatedTags(s, scope)]));
    check('logs', actualLogs(j), expectedLogs(s));
    check('warnings', j.warnings ?? [], []);
    const process = trace.processes[j.processID];
    const { 'service.name': service, ...resource } = s.resource;
    check('process.serviceName', process?.serviceName, service);
    check('process.tags', canon(process?.tags ?? []), canon(tags(resource)));
  }
  return problems;
}
