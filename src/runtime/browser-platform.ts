/**
 * Clocks, randomness and value previews of the browser runtime. The preview never runs the
 * program's code on ordinary objects: it reads own enumerable properties through
 * Object.getOwnPropertyDescriptor (a getter is shown, not called), constructor names through
 * descriptors too, and stops at depth 1 (as the Node preview: `{ tags: [ 'a' ], deep: { x: [Object] } }`)
 * and 10 items per level. A Proxy cannot be told apart in a browser
 * without touching it, so the walk is bounded (a handful of descriptor reads) and guarded: if a
 * trap throws, the value is `[unpreviewable]`.
 */
import type { Platform } from './core.js';

const getProto = Object.getPrototypeOf;
const ownDescriptor = Object.getOwnPropertyDescriptor;
const ownKeys = Object.keys;
const isArray = Array.isArray;
const symbolToString = Symbol.prototype.toString;
const dateToISO = Date.prototype.toISOString;
const regexpSource = ownDescriptor(RegExp.prototype, 'source')!.get!;
const regexpFlags = ownDescriptor(RegExp.prototype, 'flags')!.get!;
const mapSize = ownDescriptor(Map.prototype, 'size')!.get!;
const setSize = ownDescriptor(Set.prototype, 'size')!.get!;
const GeneratorProto = getProto(function* () {}).prototype as object;
const AsyncGeneratorProto = getProto(async function* () {}).prototype as object;

export const UNPREVIEWABLE = '[unpreviewable]';
const ITEMS = 10;
const IDENT = /^[A-Za-z_$][\w$]*$/;

/** A data property's value, or undefined; never calls a getter. */
function dataValue(obj: object, key: PropertyKey): unknown {
  const d = ownDescriptor(obj, key);
  return d !== undefined && 'value' in d ? d.value : undefined;
}

function fnName(f: unknown): string {
  if (typeof f !== 'function') return '';
  const name = dataValue(f, 'name');
  return typeof name === 'string' ? name : '';
}

/** The constructor name along the prototype chain (descriptors only); '' for plain objects. */
function ctorName(obj: object): string | null {
  const proto = getProto(obj) as object | null;
  if (proto === null) return null;
  const name = fnName(dataValue(proto, 'constructor'));
  return name === 'Object' ? '' : name;
}

function primitive(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 200 ? `${v.slice(0, 200)}…` : v}'`.replace(/\n/g, '\\n');
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol') return symbolToString.call(v);
  return String(v);
}

function instanceOfBuiltin(obj: object, proto: object): boolean {
  for (let o = getProto(obj) as object | null, i = 0; o !== null && i < 20; o = getProto(o) as object | null, i++) if (o === proto) return true;
  return false;
}

/** Objects this deep are shown as their bracketed kind (`[Object]`, `[Array]`, `[Point]`). */
const DEPTH = 1;

/** A value inside the previewed one, at `level` (1: its properties). */
function nested(v: unknown, seen: object[], level: number, limit: number): string {
  if (typeof v === 'function') return `[Function ${fnName(v) || '(anonymous)'}]`;
  if (typeof v !== 'object' || v === null) return primitive(v);
  if (seen.includes(v)) return '[Circular]';
  if (level <= DEPTH) return previewObject(v, limit, [...seen, v], level);
  if (isArray(v)) return '[Array]';
  if (instanceOfBuiltin(v, Error.prototype)) return previewObject(v, limit, seen, level);
  const name = ctorName(v);
  return name ? `[${name}]` : '[Object]';
}

function key(k: string): string {
  return IDENT.test(k) ? k : `'${k}'`;
}

function properties(obj: object, limit: number, skipIndices: boolean, seen: object[], level: number): string[] {
  const out: string[] = [];
  let len = 0;
  const keys = ownKeys(obj);
  let shown = 0;
  for (const k of keys) {
    if (skipIndices && /^\d+$/.test(k)) continue;
    if (shown === ITEMS || len > limit) {
      out.push('…');
      break;
    }
    const d = ownDescriptor(obj, k);
    if (d === undefined) continue;
    const text = 'value' in d ? nested(d.value, seen, level + 1, limit) : d.set ? (d.get ? '[Getter/Setter]' : '[Setter]') : '[Getter]';
    const entry = `${key(k)}: ${text}`;
    out.push(entry);
    len += entry.length + 2;
    shown++;
  }
  return out;
}

function braces(prefix: string, parts: string[]): string {
  return parts.length === 0 ? `${prefix}{}` : `${prefix}{ ${parts.join(', ')} }`;
}

function previewObject(value: object, limit: number, seen: object[], level: number): string {
  if (typeof value === 'function') return `[Function ${fnName(value) || '(anonymous)'}]`;
  if (isArray(value)) {
    const length = dataValue(value, 'length') as number;
    const items: string[] = [];
    let len = 0;
    for (let i = 0; i < length && i < ITEMS && len <= limit; i++) {
      const d = ownDescriptor(value, i);
      const text = d === undefined ? '<empty>' : 'value' in d ? nested(d.value, seen, level + 1, limit) : '[Getter]';
      items.push(text);
      len += text.length + 2;
    }
    if (length > items.length) items.push(`… ${length - items.length} more items`);
    const extra = properties(value, limit, true, seen, level);
    const all = [...items, ...extra.filter((p) => !p.startsWith('length:'))];
    return all.length === 0 ? '[]' : `[ ${all.join(', ')} ]`;
  }
  const name = ctorName(value);
  if (instanceOfBuiltin(value, Date.prototype)) {
    try {
      return dateToISO.call(value);
    } catch {
      return 'Invalid Date';
    }
  }
  if (instanceOfBuiltin(value, RegExp.prototype)) return `/${regexpSource.call(value) as string}/${regexpFlags.call(value) as string}`;
  if (instanceOfBuiltin(value, Error.prototype)) {
    const message = dataValue(value, 'message');
    const ename = name || 'Error';
    return typeof message === 'string' && message !== '' ? `${ename}: ${message}` : ename;
  }
  if (instanceOfBuiltin(value, Map.prototype)) return `Map(${mapSize.call(value) as number}) {…}`;
  if (instanceOfBuiltin(value, Set.prototype)) return `Set(${setSize.call(value) as number}) {…}`;
  if (instanceOfBuiltin(value, Promise.prototype)) return 'Promise {…}';
  const prefix = name === null ? '[Object: null prototype] ' : name ? `${name} ` : '';
  return braces(prefix, properties(value, limit, false, seen, level));
}

export function preview(value: object, limit: number): string {
  try {
    return previewObject(value, limit, [value], 0);
  } catch {
    return UNPREVIEWABLE;
  }
}

function isGeneratorObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return instanceOfBuiltin(value, GeneratorProto) || instanceOfBuiltin(value, AsyncGeneratorProto);
  } catch {
    return false;
  }
}

const perf = globalThis.performance;

export const platform: Platform = {
  now: () => perf.now(),
  timeOrigin: perf.timeOrigin,
  fillRandom: (out) => void globalThis.crypto.getRandomValues(out),
  preview,
  later: (fn, ms) => void setTimeout(fn, ms),
  isGeneratorObject,
};
