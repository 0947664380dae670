import { EventKind, Flag, Preview, spanId, traceId, type BranchSite, type FnSite, type LoopSite, type Span, type SpanEvent, type VarSite } from './core.js';
import type { Attributes, SpanData, SpanEventData } from './span-data.js';

/** Unix nanoseconds as a decimal string: a double cannot hold them exactly. */
export function makeClock(timeOrigin: number): (ms: number) => string {
  const originSec = Math.floor(timeOrigin / 1000);
  const originNs = Math.round((timeOrigin - originSec * 1000) * 1e6);
  return (ms) => {
    const ns = originNs + Math.round(ms * 1e6);
    const sec = originSec + Math.floor(ns / 1e9);
    return `${sec}${String(ns % 1e9).padStart(9, '0')}`;
  };
}

/** The preview of a captured value: strings quoted, other primitives as literals. */
export function formatValue(value: unknown, limit: number): string {
  let text: string;
  if (value instanceof Preview) text = value.text;
  else if (typeof value === 'string') text = JSON.stringify(value.length > limit ? value.slice(0, limit) : value);
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (typeof value === 'symbol') text = value.toString();
  else text = String(value);
  return text.length > limit ? `${text.slice(0, Math.max(0, limit - 1))}…` : text;
}

const fnToString = Function.prototype.toString;

const GETTER = Symbol('getter');

/**
 * `obj[key]` without running the program's code: found as a data property along the prototype
 * chain, or through a built-in getter (the engine's own `stack`); a getter of the program's is
 * not called (GETTER). Thrown values are read when their span is exported, maybe at exit.
 */
function readSafely(obj: object, key: string): unknown {
  for (let o: object | null = obj; o !== null; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d === undefined) continue;
    if ('value' in d) return d.value;
    return d.get !== undefined && /\{\s*\[native code\]\s*\}$/.test(fnToString.call(d.get)) ? d.get.call(obj) : GETTER;
  }
  return undefined;
}

/** A primitive as text; an object is not converted (its toString is the program's code). */
const text = (v: unknown, otherwise: string): string =>
  v === undefined || v === null || v === GETTER || typeof v === 'object' || typeof v === 'function' ? otherwise : String(v);

function exceptionAttributes(error: unknown, limit: number): Attributes {
  let type = typeof error as string;
  let message = '';
  let stack = '';
  try {
    if (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)) {
      const e = error as object;
      const ctor = readSafely(e, 'constructor');
      const ctorName = typeof ctor === 'function' ? readSafely(ctor, 'name') : undefined;
      const name = readSafely(e, 'name');
      const msg = readSafely(e, 'message');
      // A name the program set (`this.name = 'EmptyCartError'`) survives minification; the
      // constructor's name tells a custom class that kept the inherited name 'Error'.
      if (typeof name === 'string' && name !== '' && name !== 'Error') type = name;
      else type = typeof ctorName === 'string' && ctorName !== '' && ctorName !== 'Object' ? ctorName : text(name, 'Error');
      message = text(msg, '');
      // The engine writes the stack lazily, reading name and message: not through the program's getters.
      const s = name === GETTER || msg === GETTER ? undefined : readSafely(e, 'stack');
      stack = typeof s === 'string' ? s : '';
    } else if (typeof error === 'object' && error !== null) {
      message = Object.prototype.toString.call(error);
    } else {
      message = formatValue(error, limit);
    }
  } catch {
    message = '[unreadable exception]';
  }
  return { 'exception.type': type, 'exception.message': message, 'exception.stacktrace': stack };
}

const UNOBSERVED = 'exception (thrown value not observed by instrumented code)';

/** Turns a finished span into the JSONL/OTLP shape of docs/telemetry.md. */
export function toSpanData(s: Span, clock: (ms: number) => string, resource: Attributes): SpanData {
  const { file, site } = s;
  const limit = file.valueLength;
  const attributes: Attributes = {
    'code.function.name': site.n,
    'code.file.path': file.path,
    'code.line.number': site.l,
    'cti.lang': file.lang,
  };
  if (s.args !== null) for (let i = 0; i < s.args.length; i++) attributes[`cti.arg.${site.a[i]}`] = formatValue(s.args[i], limit);
  if ((s.flags & Flag.HasValue) !== 0 && file.returns && !s.error) attributes['cti.return'] = formatValue(s.ret, limit);
  if ((s.flags & Flag.Unfinished) !== 0) attributes['cti.unfinished'] = true;
  const events: SpanEventData[] = [];
  let message: string | undefined;
  for (const ev of s.events ?? []) {
    const time = clock(ev.time);
    switch (ev.kind) {
      case EventKind.Var: {
        const vs = file.sites[ev.site] as VarSite;
        events.push({ name: 'cti.var', time_unix_nano: time, attributes: { 'cti.var.name': vs.n, 'cti.var.value': formatValue(ev.value, limit), 'code.line.number': vs.l } });
        break;
      }
      case EventKind.Branch: {
        const bs = file.sites[ev.site] as BranchSite;
        events.push({ name: 'cti.branch', time_unix_nano: time, attributes: { 'cti.branch.kind': bs.k, 'code.line.number': bs.l } });
        break;
      }
      case EventKind.Loop: {
        const ls = file.sites[ev.site] as LoopSite;
        events.push({ name: 'cti.loop', time_unix_nano: time, attributes: { 'cti.loop.kind': ls.k, 'code.line.number': ls.l, 'cti.loop.iterations': ev.value as number } });
        break;
      }
      case EventKind.Exception: {
        const attrs = exceptionAttributes(ev.value, limit);
        message = `${attrs['exception.type']}: ${attrs['exception.message']}`;
        events.push({ name: 'exception', time_unix_nano: time, attributes: attrs });
        break;
      }
    }
  }
  return {
    trace_id: traceId(s),
    span_id: spanId(s),
    parent_span_id: s.parent === null ? null : spanId(s.parent),
    name: site.n,
    start_time_unix_nano: clock(s.start),
    end_time_unix_nano: clock(s.end),
    attributes,
    events,
    dropped_events_count: s.dropped,
    status: s.error ? { code: 'ERROR', message: message ?? UNOBSERVED } : { code: 'OK' },
    resource,
  };
}

// ---- JSONL fast path -------------------------------------------------------------------
// JSON.stringify of a span object costs about ten times more than joining strings whose
// constant parts (per site) are encoded once. `spanJsonLine` writes exactly what
// JSON.stringify(toSpanData(...)) writes (a test holds them equal).

interface FnJson { name: string; attrs: string; argKeys: string[] }
const fnJson = new WeakMap<FnSite, FnJson>();
const q = JSON.stringify;

function fnFragments(s: Span): FnJson {
  let j = fnJson.get(s.site);
  if (j === undefined) {
    const { site, file } = s;
    j = {
      name: q(site.n),
      attrs: `"code.function.name":${q(site.n)},"code.file.path":${q(file.path)},"code.line.number":${site.l},"cti.lang":${q(file.lang)}`,
      argKeys: site.a.map((a) => q(`cti.arg.${a}`)),
    };
    fnJson.set(site, j);
  }
  return j;
}

/** A var, branch or loop event (exceptions are encoded where the status message is taken). */
function eventLine(s: Span, ev: SpanEvent, clock: (ms: number) => string, limit: number): string {
  const time = clock(ev.time);
  if (ev.kind === EventKind.Var) {
    const vs = s.file.sites[ev.site] as VarSite;
    return `{"name":"cti.var","time_unix_nano":"${time}","attributes":{"cti.var.name":${q(vs.n)},"cti.var.value":${q(formatValue(ev.value, limit))},"code.line.number":${vs.l}}}`;
  }
  if (ev.kind === EventKind.Branch) {
    const bs = s.file.sites[ev.site] as BranchSite;
    return `{"name":"cti.branch","time_unix_nano":"${time}","attributes":{"cti.branch.kind":${q(bs.k)},"code.line.number":${bs.l}}}`;
  }
  const ls = s.file.sites[ev.site] as LoopSite;
  return `{"name":"cti.loop","time_unix_nano":"${time}","attributes":{"cti.loop.kind":${q(ls.k)},"code.line.number":${ls.l},"cti.loop.iterations":${ev.value as number}}}`;
}

/** One JSONL line (without the newline) for a finished span. */
export function spanJsonLine(s: Span, clock: (ms: number) => string, resourceJson: string): string {
  const j = fnFragments(s);
  const limit = s.file.valueLength;
  let out = `{"trace_id":"${traceId(s)}","span_id":"${spanId(s)}","parent_span_id":${s.parent === null ? 'null' : `"${spanId(s.parent)}"`},"name":${j.name},"start_time_unix_nano":"${clock(s.start)}","end_time_unix_nano":"${clock(s.end)}","attributes":{${j.attrs}`;
  if (s.args !== null) for (let i = 0; i < s.args.length; i++) out += `,${j.argKeys[i]}:${q(formatValue(s.args[i], limit))}`;
  if ((s.flags & Flag.HasValue) !== 0 && s.file.returns && !s.error) out += `,"cti.return":${q(formatValue(s.ret, limit))}`;
  if ((s.flags & Flag.Unfinished) !== 0) out += ',"cti.unfinished":true';
  out += '},"events":[';
  let message: string | undefined;
  const events = s.events;
  if (events !== null) {
    for (let i = 0; i < events.length; i++) {
      const ev = events[i];
      if (i > 0) out += ',';
      if (ev.kind === EventKind.Exception) {
        const attrs = exceptionAttributes(ev.value, limit);
        message = `${attrs['exception.type']}: ${attrs['exception.message']}`;
        out += q({ name: 'exception', time_unix_nano: clock(ev.time), attributes: attrs });
      } else {
        out += eventLine(s, ev, clock, limit);
      }
    }
  }
  const status = s.error ? `{"code":"ERROR","message":${q(message ?? UNOBSERVED)}}` : '{"code":"OK"}';
  return `${out}],"dropped_events_count":${s.dropped},"status":${status},"resource":${resourceJson}}`;
}
