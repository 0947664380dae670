/**
 * What the instrumented program reports about its values, and how the run-time environment
 * switches telemetry: previews that are bounded and never run the program's code, redaction,
 * capture flags, event limits, sampling, and the OTel variables. Every program must still
 * print and exit exactly as written.
 */
import { describe, expect, it } from 'vitest';
import type { SpanData } from '../src/runtime/span-data.js';
import { byName, events, runBoth, type RunBothOptions } from './helpers/run-both.js';

async function same(files: Record<string, string>, entry = 'main.mjs', opts: RunBothOptions = {}) {
  const r = await runBoth(files, entry, opts);
  expect(r.instrumented).toEqual(r.original);
  return r;
}

const vars = (span: SpanData) => Object.fromEntries(events(span, 'cti.var').map(([n, v]) => [n, v]));

const TRAPS = ['get', 'set', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf', 'setPrototypeOf', 'defineProperty', 'deleteProperty', 'isExtensible', 'preventExtensions', 'apply', 'construct'];

const VALUES = `let getterCalls = 0, trapCalls = 0;
const handler = {};
for (const t of ${JSON.stringify(TRAPS)}) handler[t] = (...a) => { trapCalls++; return Reflect[t](...a) };
class Order { constructor(id) { this.id = id } }
class Lazy { get g() { getterCalls++; return 1 } }
class Tagged { get [Symbol.toStringTag]() { getterCalls++; return 'T' } }
class Named { static get name() { getterCalls++; return 'N' } }
class MessageGetter extends Error { get message() { getterCalls++; return 'm' } }
const cyclic = { name: 'c' }; cyclic.self = cyclic;
function named() {}
const values = {
  cyclic,
  throwing: { get boom() { getterCalls++; throw new Error('getter ran') }, plain: 1 },
  lazy: new Lazy(),
  proxy: new Proxy({ a: 1 }, handler),
  fnProxy: new Proxy(function target() {}, handler),
  nestedProxy: [new Proxy({}, handler)],
  protoProxy: Object.create(new Proxy({}, handler)),
  tagged: new Tagged(),
  named: new Named(),
  messageGetter: new MessageGetter(),
  nestedGetters: { inner: new MessageGetter(), list: [new Tagged()] },
  nums: [1, 2, 3, 4, 5, 6, 7, 8, 9],
  huge: [...Array(1_000_000).keys()],
  hugeWide: Array(1000).fill('x'.repeat(50)),
  long: 'a'.repeat(10_000),
  big: 10n,
  sym: Symbol('x'),
  undef: undefined,
  nul: null,
  fn: named,
  cls: Order,
  instance: new Order(7),
  map: new Map([['k', 1]]),
  set: new Set([1, 2]),
  error: new TypeError('bad'),
  nestedError: { error: new TypeError('inner'), caused: new RangeError('r', { cause: new Error('c') }), after: 1 },
};
function take(name, value) { const held = value; return held }
for (const [k, v] of Object.entries(values)) take(k, v);
console.log(getterCalls, trapCalls);
`;

describe('value previews', () => {
  it('are bounded, exact for ordinary values, and never run getters or proxy traps', async () => {
    const { spans, original } = await same({ 'main.mjs': VALUES });
    expect(original.stdout).toBe('0 0\n');
    const preview = Object.fromEntries(byName(spans, 'take').map((s) => [JSON.parse(s.attributes['cti.arg.name'] as string), s]));
    const arg = (k: string) => preview[k].attributes['cti.arg.value'];
    expect(arg('cyclic')).toBe("<ref *1> { name: 'c', self: [Circular *1] }");
    expect(arg('throwing')).toBe('{ boom: [Getter], plain: 1 }');
    expect(arg('lazy')).toBe('Lazy {}');
    expect(arg('proxy')).toMatch(/^Proxy \[ \{ a: 1 \}, \{ get: \[Function/);
    expect(arg('fnProxy')).toMatch(/^Proxy \[ \[Function: target\], /);
    expect(arg('nestedProxy')).toBe('[ Proxy [ {}, [Object] ] ]');
    // Where inspect would have to run the program's code, there is no preview.
    for (const k of ['protoProxy', 'tagged', 'named', 'messageGetter', 'nestedGetters']) expect([k, arg(k)]).toEqual([k, '[unpreviewable]']);
    expect(arg('nums')).toBe('[ 1, 2, 3, 4, 5, 6, 7, 8, 9 ]');
    expect(arg('huge')).toBe('[ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... 999990 more items ]');
    expect(arg('hugeWide')).toHaveLength(120);
    expect(arg('hugeWide')).toMatch(/^\[ 'x+', 'x+', .*…$/);
    expect(arg('long')).toHaveLength(120);
    expect(arg('long')).toMatch(/^"a+…$/);
    expect(arg('big')).toBe('10n');
    expect(arg('sym')).toBe('Symbol(x)');
    expect(arg('undef')).toBe('undefined');
    expect(arg('nul')).toBe('null');
    expect(arg('fn')).toBe('[Function: named]');
    expect(arg('cls')).toBe('[class Order]');
    expect(arg('instance')).toBe('Order { id: 7 }');
    expect(arg('map')).toBe("Map(1) { 'k' => 1 }");
    expect(arg('set')).toBe('Set(2) { 1, 2 }');
    expect(arg('error')).toBe('TypeError: bad');
    // An Error inside a value: `TypeError: message` as at the top, no stack, one line.
    expect(arg('nestedError')).toBe('{ error: TypeError: inner, caused: { RangeError: r [cause]: Error: c }, after: 1 }');
    // The same value as a variable and as the return value.
    for (const s of byName(spans, 'take')) {
      expect(s.attributes['cti.return']).toBe(s.attributes['cti.arg.value']);
      expect(vars(s).held).toBe(s.attributes['cti.arg.value']);
      for (const v of Object.values(s.attributes)) {
        if (typeof v !== 'string') continue;
        expect(v.length).toBeLessThanOrEqual(120);
        expect(v).not.toContain('\n');
      }
    }
  });

  it('the length limit follows config.limits.valueLength', async () => {
    const { spans } = await same({ 'main.mjs': VALUES }, 'main.mjs', { config: { limits: { valueLength: 20 } } });
    const take = byName(spans, 'take');
    expect(take).toHaveLength(26);
    for (const s of take) {
      for (const v of [s.attributes['cti.arg.value'], s.attributes['cti.return'], ...events(s, 'cti.var').map((e) => e[1])]) {
        expect(String(v).length).toBeLessThanOrEqual(20);
      }
    }
    const long = take.find((s) => s.attributes['cti.arg.name'] === '"long"')!;
    expect(long.attributes['cti.arg.value']).toBe(`"${'a'.repeat(18)}…`);
    expect(take.find((s) => s.attributes['cti.arg.name'] === '"instance"')!.attributes['cti.arg.value']).toBe('Order { id: 7 }');
  });
});

describe('thrown values', () => {
  it("exporting an exception runs none of the program's getters or toString, even at exit", async () => {
    const { spans, original } = await same({
      'main.mjs': `let reads = 0;
class LazyError extends Error { get message() { reads++; return 'lazy' } }
class Plain extends Error { constructor() { super('plain message'); this.name = 'PlainError' } }
function fail(kind) {
  if (kind === 'lazy') throw new LazyError();
  if (kind === 'object') throw { toString() { reads++; return 'obj' } };
  throw new Plain();
}
function handler(kind) { try { fail(kind) } catch (e) { return typeof e } }
console.log(handler('lazy'), handler('object'), handler('plain'), reads);
process.on('exit', () => console.log('reads at exit', reads));
`,
    });
    expect(original.stdout).toBe('object object object 0\nreads at exit 0\n');
    const [lazy, object, plain] = byName(spans, 'fail');
    expect(events(lazy, 'exception')[0]).toEqual(['LazyError', '', '']);
    expect(events(object, 'exception')[0]).toEqual(['object', '[object Object]', '']);
    expect(events(plain, 'exception')[0].slice(0, 2)).toEqual(['PlainError', 'plain message']);
    expect(String(events(plain, 'exception')[0][2])).toMatch(/^PlainError: plain message\n\s+at fail \(/);
    expect(plain.status).toEqual({ code: 'ERROR', message: 'PlainError: plain message' });
  });
});

describe('redaction', () => {
  const LOGIN = `class Account { constructor(password) { this.password = password; this.owner = 'ann' } }
function login(user, password, apiKey, token, authorization, secret, other, { password: nested, plain }) {
  const sessionToken = 'abc' + token;
  let mySecret;
  mySecret = secret + '!';
  const visible = other + '?';
  try { throw new Error(password) } catch (token) { return user }
}
login('ann', 'hunter2', 'k-123', 't-456', 'Bearer xyz', 's3', 'o', { password: 'deep', plain: 'shown' });
new Account('pw');
`;

  it('arguments and variables named like secrets are exported as [REDACTED], others are not', async () => {
    const { spans } = await same({ 'main.mjs': LOGIN });
    const login = byName(spans, 'login')[0];
    expect(login.attributes).toMatchObject({
      'cti.arg.user': '"ann"', 'cti.arg.password': '[REDACTED]', 'cti.arg.apiKey': '[REDACTED]', 'cti.arg.token': '[REDACTED]',
      'cti.arg.authorization': '[REDACTED]', 'cti.arg.secret': '[REDACTED]', 'cti.arg.other': '"o"', 'cti.arg.nested': '"deep"', 'cti.arg.plain': '"shown"',
    });
    expect(events(login, 'cti.var')).toEqual([
      ['sessionToken', '[REDACTED]', 3], ['mySecret', '[REDACTED]', 5], ['visible', '"o?"', 6], ['token', '[REDACTED]', 7],
    ]);
    expect(events(byName(spans, 'Account.constructor')[0], 'cti.var')).toEqual([['this.password', '[REDACTED]', 1], ['this.owner', '"ann"', 1]]);
    const text = JSON.stringify(spans);
    for (const secret of ['hunter2', 'k-123', 't-456', 'Bearer xyz', 's3!', 'abct-456']) expect(text).not.toContain(secret);
  });

  it('config redact: [] turns redaction off', async () => {
    const { spans } = await same({ 'main.mjs': LOGIN }, 'main.mjs', { config: { redact: [] } });
    const login = byName(spans, 'login')[0];
    expect(login.attributes).toMatchObject({ 'cti.arg.password': '"hunter2"', 'cti.arg.apiKey': '"k-123"', 'cti.arg.authorization': '"Bearer xyz"' });
    expect(vars(login)).toMatchObject({ sessionToken: '"abct-456"', mySecret: '"s3!"' });
    expect(JSON.stringify(spans)).not.toContain('[REDACTED]');
  });
});

describe('capture flags', () => {
  const PROGRAM = `function work(a, n) {
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (i % 2) total += i;
    else total--;
  }
  let k = 0;
  while (k < 2) k++;
  try { fail() } catch (e) { total += 100 }
  return total;
}
function fail() { throw new Error('expected') }
console.log(work('x', 4));
`;
  /** A span reduced to what the flags control. */
  const shape = (s: SpanData) => ({
    attributes: Object.keys(s.attributes).filter((k) => k.startsWith('cti.') && k !== 'cti.lang').sort(),
    events: s.events.map((e) => [e.name, ...Object.values(e.attributes).filter((v) => typeof v !== 'string' || !v.includes('\n'))]),
    status: s.status.code,
  });

  it('each flag off removes exactly its attributes or events', async () => {
    const base = await same({ 'main.mjs': PROGRAM });
    const all = Object.fromEntries(base.spans.map((s) => [s.name, shape(s)]));
    expect(all.work.attributes).toEqual(['cti.arg.a', 'cti.arg.n', 'cti.return']);
    const kinds = (events: unknown[][]) => events.reduce<Record<string, number>>((n, e) => ({ ...n, [e[0] as string]: (n[e[0] as string] ?? 0) + 1 }), {});
    // total, i, 4 × (branch + total), k, 2 × k++, e, total
    expect(kinds(all.work.events)).toEqual({ 'cti.var': 11, 'cti.branch': 4, 'cti.loop': 2 });
    expect(events(base.spans.find((s) => s.name === 'work')!, 'cti.var').filter((e) => e[0] === 'k')).toEqual([['k', '0', 7], ['k', '1', 8], ['k', '2', 8]]);
    expect(all.fail.events.map((e) => e[0])).toEqual(['exception']);
    const without: Record<string, (s: ReturnType<typeof shape>) => ReturnType<typeof shape>> = {
      args: (s) => ({ ...s, attributes: s.attributes.filter((k) => !k.startsWith('cti.arg.')) }),
      returns: (s) => ({ ...s, attributes: s.attributes.filter((k) => k !== 'cti.return') }),
      variables: (s) => ({ ...s, events: s.events.filter((e) => e[0] !== 'cti.var') }),
      branches: (s) => ({ ...s, events: s.events.filter((e) => e[0] !== 'cti.branch') }),
      loops: (s) => ({ ...s, events: s.events.filter((e) => e[0] !== 'cti.loop') }),
      exceptions: (s) => ({ ...s, events: s.events.filter((e) => e[0] !== 'exception') }),
    };
    for (const [flag, expected] of Object.entries(without)) {
      const r = await same({ 'main.mjs': PROGRAM }, 'main.mjs', { config: { capture: { [flag]: false } } });
      const got = Object.fromEntries(r.spans.map((s) => [s.name, shape(s)]));
      expect([flag, got]).toEqual([flag, { work: expected(all.work), fail: expected(all.fail) }]);
    }
  });
});

describe('limits', () => {
  it('recursion 5000 deep runs the same, and every span keeps a bounded number of events', async () => {
    const { spans, original } = await same({
      'main.mjs': `function down(n) {
  let x = n;
  for (let i = 0; i < 20; i++) x += i;
  if (n === 0) return x;
  return down(n - 1) + 1;
}
console.log(down(5000));
`,
    }, 'main.mjs', { config: { limits: { eventsPerSpan: 8 } } });
    expect(original.stdout).toBe('5190\n');
    expect(spans).toHaveLength(5001);
    for (const s of spans) {
      const leaf = s.attributes['cti.arg.n'] === '0';
      expect(s.events).toHaveLength(8);
      // x, i, the loop, 20 assignments to x (and the leaf's branch)
      expect(s.events.length + s.dropped_events_count).toBe(leaf ? 24 : 23);
    }
    const byId = new Map(spans.map((s) => [s.span_id, s]));
    let depth = 0;
    for (let s = spans.find((x) => x.attributes['cti.arg.n'] === '0'); s?.parent_span_id; s = byId.get(s.parent_span_id)) depth++;
    expect(depth).toBe(5000);
  });

  it('OTEL_SPAN_EVENT_COUNT_LIMIT caps events and counts the rest', async () => {
    const { spans } = await same({
      'main.mjs': `function many() { let x = 0; for (let i = 0; i < 10; i++) { x = x + i } return x }
console.log(many());
`,
    }, 'main.mjs', { env: { OTEL_SPAN_EVENT_COUNT_LIMIT: '5' } });
    const s = byName(spans, 'many')[0];
    // x, the loop, i, then ten assignments: 13 events
    expect(s.events).toHaveLength(5);
    expect(s.dropped_events_count).toBe(8);
    expect(events(s, 'cti.loop')).toEqual([['for', 1, 10]]);
  });
});

describe('run-time switches', () => {
  /** Prints whether anything hooked the process: a disabled runtime must not. */
  const HOOKS = `function f(x) { return x + 1 }
console.log(f(1), process.listenerCount('exit'), process.listenerCount('beforeExit'), process.listenerCount('uncaughtExceptionMonitor'));
`;

  it('OTEL_SDK_DISABLED=true: no spans file, no hooks, the same output', async () => {
    const r = await same({ 'main.mjs': HOOKS }, 'main.mjs', { env: { OTEL_SDK_DISABLED: 'true' } });
    // (Node's own ESM loader listens to 'exit'; the runtime would add one more.)
    expect(r.original.stdout).toBe('2 1 0 0\n');
    expect(r.results['main.mjs'].instrumented).toBe(true);
    expect(r.tracesWritten).toBe(false);
  });

  it('no CTI_TRACES_FILE and no OTLP endpoint: the runtime is disabled', async () => {
    const r = await same({ 'main.mjs': HOOKS }, 'main.mjs', { tracesFile: false });
    expect(r.original.stdout).toBe('2 1 0 0\n');
    expect(r.results['main.mjs'].instrumented).toBe(true);
    expect(r.tracesWritten).toBe(false);
  });

  const ROOTS = `function child(i) { return i * 2 }
function root(i) { return child(i) + 1 }
let sum = 0;
for (let i = 0; i < 400; i++) sum += root(i);
console.log(sum);
`;

  it('OTEL_TRACES_SAMPLER=always_off: no spans', async () => {
    const r = await same({ 'main.mjs': ROOTS }, 'main.mjs', { env: { OTEL_TRACES_SAMPLER: 'always_off' } });
    expect(r.original.stdout).toBe('160000\n');
    expect(r.spans).toEqual([]);
  });

  it('traceidratio 0.5: about half of 400 traces are kept, each one whole', async () => {
    const r = await same({ 'main.mjs': ROOTS }, 'main.mjs', { env: { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' } });
    const traces = new Map<string, SpanData[]>();
    for (const s of r.spans) traces.set(s.trace_id, [...(traces.get(s.trace_id) ?? []), s]);
    expect(traces.size).toBeGreaterThanOrEqual(100);
    expect(traces.size).toBeLessThanOrEqual(300);
    for (const spans of traces.values()) {
      expect(spans.map((s) => s.name).sort()).toEqual(['child', 'root']);
      const root = spans.find((s) => s.name === 'root')!;
      expect(root.parent_span_id).toBeNull();
      expect(spans.find((s) => s.name === 'child')!.parent_span_id).toBe(root.span_id);
      expect(Number(JSON.parse(root.attributes['cti.return'] as string)) % 2).toBe(1);
    }
  });

  it('OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES make the resource', async () => {
    const r = await same({ 'main.mjs': HOOKS.replace(/, process\.listenerCount.*\)/, ')') }, 'main.mjs', {
      env: { OTEL_SERVICE_NAME: 'checkout', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test,team=core%20x,service.name=ignored' },
    });
    expect(r.spans).toHaveLength(1);
    expect(r.spans[0].resource).toMatchObject({
      'service.name': 'checkout', 'deployment.environment': 'test', team: 'core x', 'telemetry.sdk.language': 'nodejs',
    });
  });
});
