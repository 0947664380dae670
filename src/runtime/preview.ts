/**
 * Value previews for Node that never run the program's code (docs/telemetry.md, "Value
 * previews"). util.inspect with customInspect/getters off and showProxy on comes close, but it
 * still reads a few properties the ordinary way: `Symbol.toStringTag` and the constructor's
 * `name` (and `instanceof`, which consults `Symbol.hasInstance` and `prototype`) along the
 * prototype chain, and `name`/`message`/`stack` of errors. A getter or a Proxy trap in one of
 * those places would run. So before handing a value to inspect, `inspectable` walks what
 * inspect will look at (depth 1 and the `[Object]` names one level further) with
 * Object.getOwnPropertyDescriptor / Object.getPrototypeOf only, which run nothing on ordinary
 * objects, and refuses when any of those places holds a getter or a Proxy.
 */
import { inspect, types } from 'node:util';

const INSPECT = {
  depth: 1,
  maxArrayLength: 10,
  breakLength: Infinity,
  compact: true,
  // Never run the program's code to preview its values: no custom inspectors, no getters, no proxy traps.
  customInspect: false,
  getters: false,
  showProxy: true,
} as const;

export const UNPREVIEWABLE = '[unpreviewable]';

const { isProxy, isNativeError, isMap, isSet, isTypedArray, isAnyArrayBuffer } = types;
const getProto = Object.getPrototypeOf;
const ownDescriptor = Object.getOwnPropertyDescriptor;
const ownKeys = Reflect.ownKeys;
const mapEntries = Map.prototype.entries;
const setValues = Set.prototype.values;
const mapIteratorNext = getProto(new Map().entries()).next as (this: Iterator<unknown>) => IteratorResult<unknown>;
const setIteratorNext = getProto(new Set().values()).next as (this: Iterator<unknown>) => IteratorResult<unknown>;
const mapSize = ownDescriptor(Map.prototype, 'size')!.get!;
const setSize = ownDescriptor(Set.prototype, 'size')!.get!;
/** Built-in accessors that inspect may call: they run no program code. */
const NATIVE_GETTERS = new Set<unknown>([ownDescriptor(getProto(Uint8Array.prototype), Symbol.toStringTag)?.get]);

/**
 * Built-in prototypes: what inspect reads on them is the engine's own (a program that puts
 * getters on Object.prototype is not worth a slower preview for everyone).
 */
const ERROR_PROTOTYPES = new Set<object>(
  [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError].map((c) => c.prototype as object),
);
const BUILTIN_PROTOTYPES = new Set<object>([
  ...ERROR_PROTOTYPES,
  ...[Object, Function, Array, Map, Set, WeakMap, WeakSet, Promise, Date, RegExp, Number, String, Boolean, Symbol, BigInt, ArrayBuffer, DataView]
    .map((c) => c.prototype as object),
]);

/** How many objects one preview may examine before giving up (inspect would be slow there anyway). */
const BUDGET = 2000;
const ERROR_KEYS = ['name', 'message', 'stack', 'cause'];
const DEPTH = INSPECT.depth;

/** The data value of `key` as ordinary [[Get]] would find it, or `unsafe` when it would run code. */
const UNSAFE = Symbol('unsafe');
function lookup(obj: object, key: PropertyKey): unknown {
  for (let o: object | null = obj; o !== null; o = getProto(o)) {
    if (isProxy(o)) return UNSAFE;
    const d = ownDescriptor(o, key);
    if (d === undefined) continue;
    if ('value' in d) return d.value;
    return d.get !== undefined && NATIVE_GETTERS.has(d.get) ? undefined : UNSAFE;
  }
  return undefined;
}

class Walk {
  budget = BUDGET;
  readonly seen = new Set<object>();

  /** Whether inspect can format `value` at `level` (0: the value itself) without running program code. */
  ok(value: unknown, level: number): boolean {
    if ((typeof value !== 'object' || value === null) && typeof value !== 'function') return true;
    const obj = value as object;
    // A Proxy is shown as `Proxy [ target, handler ]` without touching its traps.
    if (isProxy(obj) || this.seen.has(obj)) return true;
    if (--this.budget < 0) return false;
    this.seen.add(obj);
    let error = isNativeError(obj);
    for (let o: object | null = obj; o !== null; o = getProto(o)) {
      if (o !== obj && isProxy(o)) return false;
      if (ERROR_PROTOTYPES.has(o)) error = true;
      if (BUILTIN_PROTOTYPES.has(o)) break;
      const tag = ownDescriptor(o, Symbol.toStringTag);
      if (tag !== undefined && !('value' in tag) && !NATIVE_GETTERS.has(tag.get)) return false;
      const ctor = ownDescriptor(o, 'constructor');
      if (ctor !== undefined && !('value' in ctor)) return false;
      if (ctor !== undefined && typeof ctor.value === 'function' && !this.constructorOk(ctor.value)) return false;
    }
    if (typeof obj === 'function') {
      // inspect prints `[class A extends B]`, `[Function: f]`: names of the function and its parent.
      if (lookup(obj, 'name') === UNSAFE) return false;
      const parent = getProto(obj);
      if (parent !== null && typeof parent === 'function' && lookup(parent, 'name') === UNSAFE) return false;
    }
    if (error) for (const k of ERROR_KEYS) if (lookup(obj, k) === UNSAFE) return false;
    // Below the depth limit inspect prints `[Object]`: only the names above were read.
    if (level > DEPTH) return true;
    return this.children(obj, level + 1);
  }

  /** inspect's getConstructorName reads `ctor.name` and evaluates `value instanceof ctor`. */
  private constructorOk(ctor: object): boolean {
    if (isProxy(ctor)) return false;
    if (lookup(ctor, 'name') === UNSAFE || lookup(ctor, 'prototype') === UNSAFE) return false;
    // `instanceof` calls a Symbol.hasInstance method: only Function.prototype's own is harmless.
    for (let o: object | null = ctor; o !== null && o !== Function.prototype; o = getProto(o)) {
      if (isProxy(o)) return false;
      if (ownDescriptor(o, Symbol.hasInstance) !== undefined) return false;
    }
    return true;
  }

  private children(obj: object, level: number): boolean {
    // Typed arrays and buffers hold numbers only.
    if (isTypedArray(obj) || isAnyArrayBuffer(obj)) return true;
    const max = INSPECT.maxArrayLength;
    if (isMap(obj) || isSet(obj)) {
      const map = isMap(obj);
      const size = (map ? mapSize : setSize).call(obj) as number;
      const it = (map ? mapEntries : setValues).call(obj) as Iterator<unknown>;
      const next = map ? mapIteratorNext : setIteratorNext;
      for (let i = 0; i < Math.min(size, max); i++) {
        const entry = next.call(it).value;
        if (map ? !this.ok((entry as unknown[])[0], level) || !this.ok((entry as unknown[])[1], level) : !this.ok(entry, level)) return false;
      }
    }
    if (Array.isArray(obj)) {
      // The first items only (listing the keys of a huge array would cost more than its preview).
      for (let i = 0; i < Math.min(obj.length, max); i++) {
        const d = ownDescriptor(obj, i);
        if (d !== undefined && 'value' in d && !this.ok(d.value, level)) return false;
      }
      return true;
    }
    for (const key of ownKeys(obj)) {
      const d = ownDescriptor(obj, key);
      // Accessors are shown as [Getter]/[Setter]; non-enumerable keys are not shown (but an error's are).
      if (d === undefined || !('value' in d)) continue;
      if (!d.enumerable && !(typeof key === 'string' && ERROR_KEYS.includes(key))) continue;
      if (!this.ok(d.value, level)) return false;
    }
    return true;
  }
}

/** A primitive as text; an object (a strange `name` or `message`) is not converted: that could run code. */
function plain(value: unknown): string {
  return (typeof value === 'object' && value !== null) || typeof value === 'function' ? '' : String(value);
}

/** Whether util.inspect can preview `value` without running any of the program's code. */
export function inspectable(value: unknown): boolean {
  return new Walk().ok(value, 0);
}

/** A bounded one-line preview of an object or function; never runs the program's code. */
export function preview(value: object, limit: number): string {
  if (isNativeError(value)) {
    const name = lookup(value, 'name');
    const message = lookup(value, 'message');
    if (name === UNSAFE || message === UNSAFE) return UNPREVIEWABLE;
    return `${plain(name)}: ${plain(message)}`;
  }
  if (!inspectable(value)) return UNPREVIEWABLE;
  let options = optionsByLimit.get(limit);
  if (options === undefined) optionsByLimit.set(limit, (options = { ...INSPECT, maxStringLength: limit }));
  const text = inspect(value, options);
  // Strings come out escaped: a line break is an Error's stack (or message). An Error inside the
  // value is shown as `TypeError: message`, like one at the top, and the preview stays one line.
  return text.includes('\n') ? text.replace(STACK_FRAMES, '').replace(/\s*\n\s*/g, ' ') : text;
}

/** Stack frames as inspect prints them: the last one may share its line with the closing brackets. */
const STACK_FRAMES = /\n\s*(?:at [^\n]*?(?:\)|:\d+:\d+|<anonymous>)|\.\.\. \d+ lines? matching cause stack trace \.\.\.)(?=[,\s]|$)/g;

/** inspect() options per length limit: a fresh options object per call costs more than the walk. */
const optionsByLimit = new Map<number, object>();
