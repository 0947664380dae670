/**
 * The hot path shared by every JS runtime (Node now, the browser later). Instrumented code
 * calls these functions; see docs/telemetry.md for what they record and
 * src/core/js/instrument.ts for where the calls are inserted.
 *
 * Parent tracking is a plain "current span" variable. Every place where control leaves an
 * instrumented function (return, throw, await, yield) hands the previous value back, and
 * every place where it comes back (resumption after await/yield, a catch or finally block)
 * takes it again. That keeps parents right across `await` without AsyncLocalStorage and
 * costs a few nanoseconds.
 */

import { decodeSiteTable, type FnSite, type SiteData, type VarSite } from './site-table.js';

/** What a platform provides: clocks, randomness, value previews. */
export interface Platform {
  /** Monotonic milliseconds since `timeOrigin`. */
  now(): number;
  /** Unix time of now() === 0, in milliseconds. */
  timeOrigin: number;
  fillRandom(out: Uint32Array): void;
  /** A bounded one-line preview of an object or function, taken now (it may change later). */
  preview(value: object, limit: number): string;
  /** Runs fn soon, without keeping the process alive. */
  later(fn: () => void, ms: number): void;
  /** Whether a value is a (sync or async) generator object; runs none of the program's code. */
  isGeneratorObject?(value: unknown): boolean;
}

export interface RuntimeSettings {
  platform: Platform;
  /** Receives finished spans; null disables the runtime (instrumented code then does next to nothing). */
  sink: ((spans: Span[]) => void) | null;
  /** Decides whether a new trace is recorded. */
  sampleRoot: () => boolean;
  /** Longest wait (ms) between a span's end and its hand-over to the sink (default 1000). */
  scheduleDelayMs?: number;
  /** Environment overrides of the build-time limits. */
  eventLimit?: number;
  valueLimit?: number;
}

export const enum Flag {
  Sampled = 1,
  Returned = 2,
  Suspended = 4,
  /** A return statement gave a value (falling off the end does not). */
  HasValue = 8,
  /** Suspended at a yield: a generator can be closed (return(), a for-of break) only there. */
  AtYield = 16,
  /** A finally block was entered from a yield: the generator is being closed. */
  Closing = 32,
  /** Still running when the process exited (it called process.exit()). */
  Unfinished = 64,
}

export const enum EventKind {
  Var,
  Branch,
  Loop,
  Exception,
}

export type { BranchSite, FnSite, LoopSite, SiteData, VarSite } from './site-table.js';

export interface FileTable {
  path: string;
  sites: SiteData[];
  lang: string;
  returns: boolean;
  exceptions: boolean;
  valueLength: number;
  events: number;
}

/** A value captured for a preview: primitives are kept as they are, objects are previewed at once. */
export class Preview {
  constructor(readonly text: string) {}
}

export const REDACTED = new Preview('[REDACTED]');

export class SpanEvent {
  constructor(
    readonly kind: EventKind,
    readonly site: number,
    readonly time: number,
    /** Var: the value; Loop: the iteration count; Exception: the thrown value. */
    public value: unknown,
  ) {}
}

export class Span {
  flags = 0;
  /** The root span of this span's trace: it holds the trace id. */
  root: Span | null = null;
  /** Hex trace id, on a root span only, drawn when first encoded. */
  traceHex: string | null = null;
  /** Hex span id, drawn when the span (or a child) is first encoded. */
  id: string | null = null;
  start = 0;
  end = 0;
  args: unknown[] | null = null;
  ret: unknown = undefined;
  events: SpanEvent[] | null = null;
  loops: SpanEvent[] | null = null;
  dropped = 0;
  error = false;
  /** The span that was current when this one last took over: restored when it gives control back. */
  prev: Span | null;

  constructor(
    readonly file: FileTable,
    readonly site: FnSite,
    readonly parent: Span | null,
  ) {
    this.prev = parent;
  }
}

let settings: RuntimeSettings | null = null;
let platform: Platform;
let current: Span | null = null;
/** The span whose `for await` loop is calling its iterable's first next() (see `fa`). */
let loopHead: Span | null = null;
let finished: Span[] = [];
let flushScheduled = false;
/** Spans that ended by throwing, waiting to learn what was thrown (see `c`). */
let pendingErrors: Span[] = [];
let pendingScheduled = false;

const BATCH = 512;
const MAX_PENDING_ERRORS = 1024;
/** How long a span that threw waits for an instrumented catch to tell what was thrown. */
const ERROR_WAIT_MS = 100;

// Span and trace ids: xorshift128 seeded from the platform's crypto source. Ids need to be
// unique, not secret (OpenTelemetry JS uses Math.random); a crypto call per id costs more
// than the rest of a span.
let x0 = 0;
let x1 = 0;
let x2 = 0;
let x3 = 0;
function rand(): number {
  const t = x0 ^ (x0 << 11);
  x0 = x1;
  x1 = x2;
  x2 = x3;
  x3 = (x3 ^ (x3 >>> 19) ^ t ^ (t >>> 8)) >>> 0;
  return x3;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(n: number): string {
  return HEX[(n >>> 24) & 255] + HEX[(n >>> 16) & 255] + HEX[(n >>> 8) & 255] + HEX[n & 255];
}

/** W3C ids: lowercase hex, never all zeros (the last word is never 0). */
export function spanId(s: Span): string {
  return (s.id ??= hex32(rand()) + hex32(rand() || 1));
}

export function traceId(s: Span): string {
  const root = s.root!;
  return (root.traceHex ??= hex32(rand()) + hex32(rand()) + hex32(rand()) + hex32(rand() || 1));
}

function seed(): void {
  const words = new Uint32Array(4);
  do platform.fillRandom(words);
  while ((words[0] | words[1] | words[2] | words[3]) === 0);
  [x0, x1, x2, x3] = words;
}

export function configure(next: RuntimeSettings): void {
  settings = next;
  platform = next.platform;
  seed();
}

export function isEnabled(): boolean {
  return settings !== null && settings.sink !== null;
}

/** Registers an instrumented file's site table (emitted once at the top of each file; format in site-table.ts). */
export function file(path: string, table: string): FileTable {
  const { sites, opts } = decodeSiteTable(table);
  return {
    path,
    sites,
    lang: opts.lang,
    returns: opts.returns,
    exceptions: opts.exceptions,
    valueLength: settings?.valueLimit ?? opts.valueLength,
    events: settings?.eventLimit ?? opts.events,
  };
}

function capture(value: unknown, limit: number): unknown {
  const type = typeof value;
  if ((type === 'object' && value !== null) || type === 'function') {
    try {
      return new Preview(platform.preview(value as object, limit));
    } catch {
      return new Preview('[unpreviewable]');
    }
  }
  return value;
}

/** Inserted as `enter(file, site, ...arguments of the call)`; the values are read through `arguments`. */
export function enter(file: FileTable | undefined, id: number, ...args: unknown[]): Span | 0;
export function enter(file: FileTable | undefined, id: number): Span | 0 {
  // `file` is undefined when a circular import calls in before the file's table exists.
  if (settings === null || settings.sink === null || file === undefined) return 0;
  let parent = current;
  const site = file.sites[id] as FnSite;
  if (loopHead !== null) {
    // The first next() of a `for await` loop: the generator runs for the loop's function.
    if (site.g === 1 && parent === loopHead.prev) parent = loopHead;
    loopHead = null;
  }
  const s = new Span(file, site, parent);
  s.prev = current;
  if (parent === null ? settings.sampleRoot() : (parent.flags & Flag.Sampled) !== 0) {
    s.flags = Flag.Sampled;
    s.root = parent === null ? s : parent.root;
    const n = arguments.length - 2;
    if (n > 0) {
      const args = new Array(n);
      const redact = s.site.r;
      for (let i = 0; i < n; i++) args[i] = redact !== undefined && redact.includes(i) ? REDACTED : capture(arguments[i + 2], file.valueLength);
      s.args = args;
    }
    s.start = platform.now();
  }
  current = s;
  return s;
}

/** Runs in the `finally` of every instrumented function. */
export function exit(s: Span | 0): void {
  if (s === 0) return;
  // When the function ends after a rejected await or generator.return(), control is not
  // ours: whatever is current belongs to the code that resumed us.
  if (current === s) current = s.prev;
  if ((s.flags & Flag.Sampled) === 0) return;
  s.end = platform.now();
  const returned = (s.flags & Flag.Returned) !== 0;
  // A generator closed while suspended at a yield (return() or a for-of break) ended normally.
  // (So does one that throw() kills there: the two cannot be told apart without a catch.)
  if (returned || (s.site.g === 1 && (s.flags & (Flag.AtYield | Flag.Closing)) !== 0)) {
    finish(s);
    return;
  }
  s.error = true;
  if (pendingErrors.length >= MAX_PENDING_ERRORS || flushEach) {
    finish(s);
    return;
  }
  pendingErrors.push(s);
  if (!pendingScheduled) {
    pendingScheduled = true;
    platform.later(settlePendingErrors, ERROR_WAIT_MS);
  }
}

export function ret<T>(s: Span | 0, value: T): T {
  if (s !== 0) {
    s.flags |= Flag.Returned | Flag.HasValue;
    if ((s.flags & Flag.Sampled) !== 0 && s.file.returns) s.ret = capture(value, s.file.valueLength);
  }
  return value;
}

/** The end of the body was reached without a return statement. */
export function done(s: Span | 0): void {
  if (s !== 0) s.flags |= Flag.Returned;
}

function addEvent(s: Span, kind: EventKind, site: number, value: unknown): SpanEvent | null {
  if (s.events === null) s.events = [];
  else if (s.events.length >= s.file.events) {
    s.dropped++;
    return null;
  }
  const ev = new SpanEvent(kind, site, platform.now(), value);
  s.events.push(ev);
  return ev;
}

/** A variable took a value; returns it unchanged. */
export function v<T>(s: Span | 0, id: number, value: T): T {
  if (s !== 0 && (s.flags & Flag.Sampled) !== 0) {
    addEvent(s, EventKind.Var, id, (s.file.sites[id] as VarSite).r === 1 ? REDACTED : capture(value, s.file.valueLength));
  }
  return value;
}

/** A branch was taken. */
export function b(s: Span | 0, id: number): void {
  if (s !== 0 && (s.flags & Flag.Sampled) !== 0) addEvent(s, EventKind.Branch, id, undefined);
}

/** A loop iteration started: one event per loop and call, counting iterations. */
export function l(s: Span | 0, id: number): void {
  if (s === 0 || (s.flags & Flag.Sampled) === 0) return;
  const loops = s.loops ?? (s.loops = []);
  for (let i = 0; i < loops.length; i++) {
    if (loops[i].site === id) {
      (loops[i].value as number)++;
      return;
    }
  }
  // A loop whose event was dropped is still tracked, so it is dropped only once.
  const ev = addEvent(s, EventKind.Loop, id, 1) ?? new SpanEvent(EventKind.Loop, id, 0, 1);
  loops.push(ev);
}

/** Before an await or yield: the function suspends, hand the context back. */
export function aw<T>(s: Span | 0, value: T): T;
export function aw(s: Span | 0): undefined;
export function aw<T>(s: Span | 0, value?: T): T | undefined {
  if (s !== 0) {
    if (current === s) current = s.prev;
    s.flags |= Flag.Suspended;
  }
  return value;
}

/**
 * A `for await` loop's iterable, before the loop head awaits its first next(): as `aw`, but a
 * generator that starts running in that next() is still the loop's function's child.
 */
export function fa<T>(s: Span | 0, value: T): T {
  if (s !== 0) {
    aw(s);
    // Only a generator runs code of ours in that next(); otherwise the mark would linger.
    if (platform.isGeneratorObject?.(value) ?? true) loopHead = s;
  }
  return value;
}

/** Before a yield: as `aw`, and the generator may be closed here. */
export function y<T>(s: Span | 0, value: T): T;
export function y(s: Span | 0): undefined;
export function y<T>(s: Span | 0, value?: T): T | undefined {
  if (s !== 0) {
    if (current === s) current = s.prev;
    s.flags |= Flag.Suspended | Flag.AtYield;
  }
  return value;
}

/**
 * Entering a `finally` block of the program's. It may follow an await or a yield (resume), or
 * a generator's return() (mark it closing). A return that happened before it is set aside: the
 * block may still throw, or break/continue out and cancel it. Returns what `fe` puts back.
 */
export function ft(s: Span | 0): number {
  if (s === 0) return 0;
  if ((s.flags & Flag.AtYield) !== 0) s.flags |= Flag.Closing;
  rs(s);
  const pending = s.flags & (Flag.Returned | Flag.HasValue);
  s.flags &= ~(Flag.Returned | Flag.HasValue);
  return pending;
}

/** The `finally` block ended normally: the return it held up goes ahead. */
export function fe(s: Span | 0, pending: number): void {
  if (s !== 0) s.flags |= pending;
}

/** After an await or yield, or entering a catch/finally that may follow one: resume. */
export function rs<T>(s: Span | 0, value: T): T;
export function rs(s: Span | 0): undefined;
export function rs<T>(s: Span | 0, value?: T): T | undefined {
  if (s !== 0) {
    if (current !== s) {
      s.prev = current;
      current = s;
    }
    s.flags &= ~(Flag.Suspended | Flag.AtYield);
    if (loopHead === s) loopHead = null;
  }
  return value;
}

/** Entering a catch block: resume, record the binding, and tell spans that threw what it was. */
export function c(s: Span | 0, id: number, error?: unknown): void {
  if (s === 0) return;
  rs(s);
  if (arguments.length > 2 && pendingErrors.length > 0) settleCaught(s, error);
  if (id >= 0 && (s.flags & Flag.Sampled) !== 0) {
    addEvent(s, EventKind.Var, id, (s.file.sites[id] as VarSite).r === 1 ? REDACTED : capture(error, s.file.valueLength));
  }
}

function isDescendant(span: Span, ancestor: Span): boolean {
  for (let p = span.parent; p !== null; p = p.parent) if (p === ancestor) return true;
  return false;
}

/** The exception event is kept even at the event limit: it takes the last slot. */
function recordException(s: Span, error: unknown): void {
  if (!s.file.exceptions) return;
  const ev = new SpanEvent(EventKind.Exception, -1, s.end, error);
  if (s.events === null) s.events = [ev];
  else if (s.events.length < s.file.events) s.events.push(ev);
  else {
    s.events[s.events.length - 1] = ev;
    s.dropped++;
  }
}

function settleCaught(catcher: Span, error: unknown): void {
  const rest: Span[] = [];
  for (const p of pendingErrors) {
    if (isDescendant(p, catcher)) {
      recordException(p, error);
      finish(p);
    } else {
      rest.push(p);
    }
  }
  pendingErrors = rest;
}

/** Nobody instrumented caught it: export the spans as errors without the thrown value. */
function settlePendingErrors(): void {
  pendingScheduled = false;
  const spans = pendingErrors;
  pendingErrors = [];
  for (const s of spans) finish(s);
}

/** The process is dying of `error`: every span still waiting threw it. */
export function uncaught(error: unknown): void {
  const spans = pendingErrors;
  pendingErrors = [];
  for (const s of spans) {
    recordException(s, error);
    finish(s);
  }
}

function finish(s: Span): void {
  finished.push(s);
  if (finished.length >= BATCH || flushEach) flush();
  else if (!flushScheduled) {
    // Spans of a quiet program still leave within a second.
    flushScheduled = true;
    platform.later(timedFlush, settings?.scheduleDelayMs ?? 1000);
  }
}

function timedFlush(): void {
  flushScheduled = false;
  flush();
}

/** Hands every finished span to the sink now. */
export function flush(): void {
  if (finished.length === 0 || settings?.sink == null) return;
  const batch = finished;
  finished = [];
  settings.sink(batch);
}

/**
 * After the runtime's own exit flush, the program's later 'exit' listeners may still call
 * instrumented code: from then on every span is handed over as it ends, and one that threw
 * does not wait for a catch that can no longer come asynchronously.
 */
let flushEach = false;
export function flushEachSpan(): void {
  flushEach = true;
}

/**
 * At process exit: the calls on the current stack (one of them called process.exit()) never
 * return. End them now, marked unfinished, so that what they called keeps its parents.
 */
export function endRunningSpans(): void {
  const now = platform.now();
  for (let s = current; s !== null; s = s.parent) {
    if ((s.flags & Flag.Sampled) === 0 || s.end !== 0) continue;
    s.end = now;
    s.flags |= Flag.Unfinished;
    finish(s);
  }
  current = null;
}

/** Ends the pending-error wait early (process exit) and flushes. */
export function drain(): void {
  settlePendingErrors();
  flush();
}

/** For tests: the span the next call would get as its parent. */
export function currentSpan(): Span | null {
  return current;
}
