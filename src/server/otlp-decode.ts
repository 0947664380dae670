/**
 * OTLP/HTTP trace requests (JSON or protobuf, optionally gzip) into SpanData, strictly: a
 * request with anything malformed is rejected as a whole with a message naming the field, so
 * nothing of it is stored. Accepts what SDKs send besides the spec's hex ids: base64 ids (the
 * generic protobuf-JSON mapping), numeric times, status enum names.
 */
import { gunzipSync } from 'node:zlib';
import type { AttributeValue, Attributes, SpanData, SpanEventData } from '../runtime/span-data.js';
import { protobufToJson } from './otlp-proto.js';

/** A request the receiver refuses: `status` 400 (malformed), 413 (too large) or 415 (content type). */
export class PayloadError extends Error {
  constructor(readonly status: 400 | 413 | 415, message: string) {
    super(message);
  }
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(path: string, what: string): never {
  throw new PayloadError(400, `${path}: ${what}`);
}

function list(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) bad(path, 'not an array');
  return v;
}

function obj(v: unknown, path: string): Json {
  if (!isObj(v)) bad(path, 'not an object');
  return v;
}

const ZERO = /^0+$/;

function id(v: unknown, bytes: number, path: string, optional = false): string | null {
  if ((v === undefined || v === '' || v === null) && optional) return null;
  if (typeof v !== 'string') bad(path, `not a ${bytes}-byte id`);
  let hex: string;
  if (v.length === bytes * 2 && /^[0-9a-fA-F]+$/.test(v)) hex = v.toLowerCase();
  else if (/^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === bytes) hex = Buffer.from(v, 'base64').toString('hex');
  else bad(path, `not a ${bytes}-byte id (hex or base64)`);
  if (ZERO.test(hex)) {
    if (optional) return null;
    bad(path, 'an all-zero id is invalid');
  }
  return hex;
}

function time(v: unknown, path: string): string {
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return BigInt(v).toString();
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && Number.isInteger(v)) return BigInt(v).toString();
  if (v === undefined) return '0';
  bad(path, 'not a time in Unix nanoseconds');
}

function anyValue(v: unknown, path: string): AttributeValue {
  if (v === undefined || v === null) return '';
  const o = obj(v, path);
  if (typeof o.stringValue === 'string') return o.stringValue;
  if (typeof o.boolValue === 'boolean') return o.boolValue;
  if (o.intValue !== undefined) {
    if (!(typeof o.intValue === 'number' && Number.isInteger(o.intValue)) && !(typeof o.intValue === 'string' && /^-?\d+$/.test(o.intValue))) bad(`${path}.intValue`, 'not an integer');
    return Number(o.intValue);
  }
  if (o.doubleValue !== undefined) {
    const d = typeof o.doubleValue === 'string' ? Number(o.doubleValue) : o.doubleValue;
    if (typeof d !== 'number' || (Number.isNaN(d) && o.doubleValue !== 'NaN')) bad(`${path}.doubleValue`, 'not a number');
    return d;
  }
  // Arrays, maps and bytes have no SpanData equivalent: kept readable as JSON text.
  if (o.arrayValue !== undefined || o.kvlistValue !== undefined || o.bytesValue !== undefined) return JSON.stringify(o.arrayValue ?? o.kvlistValue ?? o.bytesValue);
  return '';
}

function attributes(v: unknown, path: string): Attributes {
  const out: Attributes = {};
  list(v, path).forEach((kv, i) => {
    const o = obj(kv, `${path}[${i}]`);
    if (typeof o.key !== 'string') bad(`${path}[${i}].key`, 'not a string');
    out[o.key] = anyValue(o.value, `${path}[${i}].value`);
  });
  return out;
}

const ERROR_CODES = new Set<unknown>([2, 'STATUS_CODE_ERROR']);

function span(v: unknown, resource: Attributes, path: string): SpanData {
  const s = obj(v, path);
  if (s.name !== undefined && typeof s.name !== 'string') bad(`${path}.name`, 'not a string');
  const status = s.status === undefined ? {} : obj(s.status, `${path}.status`);
  const events: SpanEventData[] = list(s.events, `${path}.events`).map((e, i) => {
    const o = obj(e, `${path}.events[${i}]`);
    return { name: typeof o.name === 'string' ? o.name : '', time_unix_nano: time(o.timeUnixNano, `${path}.events[${i}].timeUnixNano`), attributes: attributes(o.attributes, `${path}.events[${i}].attributes`) };
  });
  const dropped = Number(s.droppedEventsCount ?? 0);
  if (!Number.isInteger(dropped) || dropped < 0) bad(`${path}.droppedEventsCount`, 'not a count');
  const code = ERROR_CODES.has(status.code) ? 'ERROR' : 'OK';
  return {
    trace_id: id(s.traceId, 16, `${path}.traceId`)!,
    span_id: id(s.spanId, 8, `${path}.spanId`)!,
    parent_span_id: id(s.parentSpanId, 8, `${path}.parentSpanId`, true),
    name: (s.name as string | undefined) ?? '',
    start_time_unix_nano: time(s.startTimeUnixNano, `${path}.startTimeUnixNano`),
    end_time_unix_nano: time(s.endTimeUnixNano, `${path}.endTimeUnixNano`),
    attributes: attributes(s.attributes, `${path}.attributes`),
    events,
    dropped_events_count: dropped,
    status: typeof status.message === 'string' && status.message !== '' ? { code, message: status.message } : { code },
    resource: { ...resource },
  };
}

/** A parsed OTLP/JSON trace request (or the protobuf one in the same shape) into spans. */
export function decodeOtlpJson(root: unknown): SpanData[] {
  const out: SpanData[] = [];
  const r = obj(root, 'request');
  list(r.resourceSpans, 'resourceSpans').forEach((rsv, i) => {
    const rs = obj(rsv, `resourceSpans[${i}]`);
    const resource = rs.resource === undefined ? {} : attributes(obj(rs.resource, `resourceSpans[${i}].resource`).attributes, `resourceSpans[${i}].resource.attributes`);
    list(rs.scopeSpans, `resourceSpans[${i}].scopeSpans`).forEach((ssv, j) => {
      const ss = obj(ssv, `resourceSpans[${i}].scopeSpans[${j}]`);
      list(ss.spans, `resourceSpans[${i}].scopeSpans[${j}].spans`).forEach((sv, k) => out.push(span(sv, resource, `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`)));
    });
  });
  return out;
}

/** An OTLP/HTTP request body, given its content type and encoding, into spans. */
export function decodeTraceRequest(body: Buffer, contentType: string | undefined, contentEncoding: string | undefined, maxBytes: number): SpanData[] {
  let raw = body;
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (encoding === 'gzip') {
    try {
      raw = gunzipSync(body, { maxOutputLength: maxBytes });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new PayloadError(413, `body larger than ${maxBytes} bytes once decompressed`);
      throw new PayloadError(400, 'body is not valid gzip');
    }
  } else if (encoding !== 'identity') {
    throw new PayloadError(415, `content-encoding ${encoding} is not supported (use gzip or none)`);
  }
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') {
    let root: unknown;
    try {
      root = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new PayloadError(400, 'body is not valid JSON');
    }
    return decodeOtlpJson(root);
  }
  if (type === 'application/x-protobuf' || type === 'application/protobuf') {
    let root: unknown;
    try {
      root = protobufToJson(raw);
    } catch (e) {
      throw new PayloadError(400, `body is not a valid OTLP protobuf message (${(e as Error).message})`);
    }
    return decodeOtlpJson(root);
  }
  throw new PayloadError(415, `content-type ${type || '(none)'} is not supported (use application/json or application/x-protobuf)`);
}
