import type { AttributeValue, Attributes, SpanData } from '../span-data.js';
import { SDK_NAME, VERSION } from './version.js';

// The OTLP/HTTP JSON encoding (opentelemetry-proto, docs/specification.md "JSON Protobuf
// Encoding"): lowerCamelCase fields, trace and span ids as hex (not base64), enums as
// integers, 64-bit integers as decimal strings.

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number | string;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
  bytesValue?: string;
}
export interface OtlpKeyValue { key: string; value: OtlpAnyValue }

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  events: { timeUnixNano: string; name: string; attributes: OtlpKeyValue[] }[];
  droppedEventsCount?: number;
  status: { code: number; message?: string };
}

export interface OtlpTraceRequest {
  resourceSpans: {
    resource: { attributes: OtlpKeyValue[] };
    scopeSpans: { scope: { name: string; version: string }; spans: OtlpSpan[] }[];
  }[];
}

const SPAN_KIND_INTERNAL = 1;
const STATUS_OK = 1;
const STATUS_ERROR = 2;
const INT64_LIMIT = 2 ** 63;

function anyValue(v: AttributeValue): OtlpAnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  // int64 travels as a decimal string; BigInt keeps 2**60 from turning into "1.15e+18".
  if (Number.isInteger(v) && Math.abs(v) < INT64_LIMIT) return { intValue: BigInt(v).toString() };
  // Protobuf JSON spells the non-finite doubles as strings.
  if (Number.isNaN(v)) return { doubleValue: 'NaN' };
  if (!Number.isFinite(v)) return { doubleValue: v > 0 ? 'Infinity' : '-Infinity' };
  return { doubleValue: v };
}

function keyValues(attrs: Attributes): OtlpKeyValue[] {
  return Object.entries(attrs).map(([key, v]) => ({ key, value: anyValue(v) }));
}

function toOtlpSpan(s: SpanData): OtlpSpan {
  const span: OtlpSpan = {
    traceId: s.trace_id.toLowerCase(),
    spanId: s.span_id.toLowerCase(),
    name: s.name,
    kind: SPAN_KIND_INTERNAL,
    startTimeUnixNano: s.start_time_unix_nano,
    endTimeUnixNano: s.end_time_unix_nano,
    attributes: keyValues(s.attributes),
    events: s.events.map((e) => ({ timeUnixNano: e.time_unix_nano, name: e.name, attributes: keyValues(e.attributes) })),
    status: s.status.code === 'ERROR' ? { code: STATUS_ERROR } : { code: STATUS_OK },
  };
  // Roots carry no parentSpanId at all; an empty id is the protobuf default anyway.
  if (s.parent_span_id) span.parentSpanId = s.parent_span_id.toLowerCase();
  if (s.dropped_events_count) span.droppedEventsCount = s.dropped_events_count;
  if (s.status.message) span.status.message = s.status.message;
  return span;
}

/** Stable identity of a resource, independent of attribute order. */
function resourceKey(r: Attributes): string {
  return JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]]));
}

/** The body of an OTLP/HTTP JSON ExportTraceServiceRequest, one resourceSpans per resource. */
export function toOtlpJson(spans: SpanData[]): OtlpTraceRequest {
  const groups = new Map<string, OtlpTraceRequest['resourceSpans'][number]>();
  for (const s of spans) {
    const key = resourceKey(s.resource);
    let group = groups.get(key);
    if (!group) {
      group = { resource: { attributes: keyValues(s.resource) }, scopeSpans: [{ scope: { name: SDK_NAME, version: VERSION }, spans: [] }] };
      groups.set(key, group);
    }
    group.scopeSpans[0]!.spans.push(toOtlpSpan(s));
  }
  return { resourceSpans: [...groups.values()] };
}

// ---- the reverse, for the `cti serve` receiver: lenient about what other SDKs send ----
