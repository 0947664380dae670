import { describe, expect, it } from 'vitest';
import { byName, events, runBoth, spanTree } from './helpers/run-both.js';

/** Same stdout, stderr and exit status as the original, and the instrumented run exported spans. */
async function same(files: Record<string, string>, entry = 'main.mjs', opts: Parameters<typeof runBoth>[2] = {}) {
  const r = await runBoth(files, entry, opts);
  expect(r.instrumented).toEqual(r.original);
  return r;
}

describe('function forms', () => {
  it('declarations, expressions, arrows, methods, accessors, constructors: names, lines, parents', async () => {
    const { spans } = await same({
      'main.mjs': `class Base {
  constructor(n) { this.n = n; }
  get double() { return this.n * 2 }
  set value(v) { this.n = v }
  static create(n) { return new Base(n) }
  #secret() { return 'hidden' }
  reveal() { return this.#secret() }
}
class Derived extends Base {
  constructor(n) { const k = n + 1; super(k); this.extra = true; }
  method() { return super.reveal() + '!' }
}
const arrow = (a, b) => a + b;
const expr = function (x) { return x * 3 };
const named = function inner(x) { return x };
const obj = { shorthand(x) { return x }, prop: (y) => y + 1, get g() { return 7 } };
function outer() {
  function nested(z) { return z - 1 }
  return nested(10);
}
const b = Base.create(2);
b.value = 5;
console.log(b.double, new Derived(1).method(), arrow(1, 2), expr(2), named(4));
console.log(obj.shorthand(1), obj.prop(1), obj.g, outer());
`,
    });
    const names = spans.map((s) => `${s.name}:${s.attributes['code.line.number']}`).sort();
    expect(names).toEqual([
      'Base.constructor:2', 'Base.constructor:2', 'Base.create:5', 'Base.double:3', 'Base.reveal:7', 'Base.value:4',
      'Base.#secret:6', 'Derived.constructor:10', 'Derived.method:11', 'arrow:13', 'expr:14', 'inner:15',
      'obj.g:16', 'obj.prop:16', 'obj.shorthand:16', 'outer:17', 'outer.nested:18',
    ].sort());
    const tree = spanTree(spans);
    expect(tree).toContain('Base.create:5\n  Base.constructor:2');
    expect(tree).toContain('Derived.constructor:10\n  Base.constructor:2');
    expect(tree).toContain('Derived.method:11\n  Base.reveal:7\n    Base.#secret:6');
    expect(tree).toContain('outer:17\n  outer.nested:18');
    for (const s of spans) {
      expect(s.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(s.span_id).toMatch(/^[0-9a-f]{16}$/);
      expect(s.attributes['code.file.path']).toBe('main.mjs');
      expect(s.attributes['cti.lang']).toBe('javascript');
      expect(s.status.code).toBe('OK');
    }
    expect(byName(spans, 'arrow')[0].attributes).toMatchObject({ 'cti.arg.a': '1', 'cti.arg.b': '2', 'cti.return': '3' });
    expect(byName(spans, 'Derived.constructor')[0].attributes['cti.arg.n']).toBe('1');
  });

  it('names CommonJS exports and prototype members, also written with string keys', async () => {
    const { spans } = await same({
      'main.cjs': `function Foo() {}
Foo.prototype['bar'] = function (x) { return x + 1 };
Foo.prototype.baz = function () { return this.bar(1) };
module.exports = function (n) { return new Foo().baz() + n };
exports.helper = () => 2;
console.log(module.exports(1));
`,
    }, 'main.cjs');
    expect(spanTree(spans)).toBe('module.exports:4\n  Foo:1\n  Foo.baz:3\n    Foo.bar:2');
  });

  it('keeps this, arguments, new.target, .name, .length, hoisting and getters lazy', async () => {
    await same({
      'main.mjs': `console.log(hoisted(2));
function hoisted(x) { return x + later(); function later() { return 40 } }
function args(a, b) { return [arguments.length, a, b, ...arguments].join(',') }
function Ctor() { if (!new.target) return 'called'; this.made = new.target.name; }
const lengths = [function (a, b = 1, ...c) {}, (x, y) => x, async function named() {}];
const o = { name: 'o', m() { return this.name }, arrow: () => typeof this };
let reads = 0;
const lazy = { get v() { reads++; return 1 } };
console.log(args(1, 2, 3), Ctor(), new Ctor().made, lengths.map((f) => f.name + ':' + f.length).join(' '));
console.log(o.m(), o.arrow(), reads, lazy.v, reads, (() => {}).name, (function () {}).name);
const assigned = () => {}; const exprFn = function () {};
console.log(assigned.name, exprFn.name);
`,
    });
  });

  it('async functions, generators and async generators keep results and parents across await', async () => {
    const { spans } = await same({
      'main.mjs': `const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function leaf(x) { await sleep(5); return x * 2 }
async function middle(x) { const a = await leaf(x); const b = await leaf(a); return a + b }
async function top() { const [p, q] = await Promise.all([middle(1), middle(2)]); sync(); return p + q }
function sync() { return 'sync' }
function* gen(n) { for (let i = 0; i < n; i++) yield i; return 'done' }
async function* agen() { yield 1; await sleep(1); yield 2 }
function consumer() { const out = []; for (const v of gen(3)) out.push(v); return out }
console.log(await top(), consumer(), [...gen(2)]);
for await (const v of agen()) console.log('a', v);
const it = gen(5); it.next(); it.return('early');
`,
    });
    const tree = spanTree(spans);
    const leaf = 'leaf:2\n      sleep:1\n        sleep.<anonymous>:1';
    expect(tree).toContain(`top:4\n  middle:3\n    ${leaf}\n    ${leaf}\n  middle:3\n    ${leaf}\n    ${leaf}\n  sync:5`);
    expect(tree).toContain('consumer:8\n  gen:6');
    expect(byName(spans, 'top')[0].attributes['cti.return']).toBe('18');
    // The early-closed generator ended normally.
    expect(byName(spans, 'gen').every((s) => s.status.code === 'OK')).toBe(true);
    expect(byName(spans, 'agen')).toHaveLength(1);
  });

  it('exceptions: ERROR status, exception event, same crash output and exit code', async () => {
    // With source maps Node prints the original line and columns, exactly as without instrumentation.
    const { spans, original } = await same({
      'main.mjs': `function fail(x) {
  if (x > 1) throw new TypeError('too big: ' + x);
  return x;
}
function caller(x) { return fail(x) }
try { caller(5) } catch (e) { console.log('caught', e.message) }
function handler() { try { caller(7) } catch (err) { return 'handled ' + err.message } }
console.log(handler());
async function rejects() { await null; throw new RangeError('async boom') }
async function awaiter() { try { await rejects() } catch (e) { return e.name } }
console.log(await awaiter());
caller(9);
`,
    }, 'main.mjs', { nodeArgs: ['--enable-source-maps'] });
    expect(original.status).toBe(1);
    expect(original.stderr).toContain("throw new TypeError('too big: ' + x);");
    const handled = spanTree(spans);
    expect(handled).toContain('handler:7\n  caller:5 ERROR\n    fail:1 ERROR');
    expect(handled).toContain('awaiter:10\n  rejects:9 ERROR');
    const fail = byName(spans, 'fail').find((s) => s.attributes['cti.arg.x'] === '7')!;
    expect(events(fail, 'exception')[0].slice(0, 2)).toEqual(['TypeError', 'too big: 7']);
    expect(fail.status.message).toBe('TypeError: too big: 7');
    expect(String(events(fail, 'exception')[0][2])).toContain('at fail (');
    // The crash at the end: the spans that died with it were exported too, with the exception.
    const crashed = byName(spans, 'fail').find((s) => s.attributes['cti.arg.x'] === '9')!;
    expect(crashed.status.code).toBe('ERROR');
    expect(events(crashed, 'exception')[0][1]).toBe('too big: 9');
    expect(events(byName(spans, 'rejects')[0], 'exception')[0].slice(0, 2)).toEqual(['RangeError', 'async boom']);
  });

  it('process.exit() inside a call: the running calls are exported as unfinished, exit listeners are traced', async () => {
    const { spans, original } = await same({
      'main.mjs': `function work(n) { return n * 2 }
function onExit(code) { console.log('exiting', code, work(21)); }
process.on('exit', onExit);
function main() {
  work(1);
  if (work(2) > 3) process.exit(3);
  return 'never';
}
main();
`,
    });
    expect(original.status).toBe(3);
    expect(spanTree(spans)).toBe('main:4\n  work:1\n  work:1\nonExit:2\n  work:1');
    const main = byName(spans, 'main')[0];
    expect(main.attributes['cti.unfinished']).toBe(true);
    expect(main.status.code).toBe('OK');
    expect(main.attributes['cti.return']).toBeUndefined();
    expect(byName(spans, 'onExit')[0].attributes['cti.unfinished']).toBeUndefined();
  });

  it('stack traces keep original lines (node --enable-source-maps not needed: lines are kept)', async () => {
    const { instrumented } = await same({
      'main.mjs': `function deep() {
  const e = new Error('where');
  return e.stack.split('\\n').slice(0, 3).map((l) => l.replace(/:\\d+\\)?$/, '')).join('|');
}
function mid() { return deep() }
console.log(mid());
console.log(new Error('x').stack.split('\\n')[1].match(/:(\\d+):/)[1]);
`,
    });
    expect(instrumented.stdout).toContain('main.mjs:2');
  });

  it('derived constructors, class fields holding functions, static blocks and decorators-free classes', async () => {
    const { spans } = await same({
      'main.mjs': `class A { constructor(x) { this.x = x } }
class B extends A {
  field = (y) => this.x + y;
  static counter = 0;
  static { B.counter = 10 }
  constructor(x) { if (x < 0) { super(0); return; } super(x); B.counter++; }
}
const b = new B(2);
console.log(b.field(3), B.counter, new B(-1).x);
`,
    });
    expect(spans.map((s) => s.name).sort()).toEqual(['A.constructor', 'A.constructor', 'B.constructor', 'B.constructor', 'B.field']);
  });
});

describe('variables, branches, loops', () => {
  it('records declarations, assignments, destructuring, for targets and catch params with lines', async () => {
    const { spans } = await same({
      'main.mjs': `function work(items) {
  let total = 0;
  const { a, b: [c] } = { a: 1, b: [2] };
  let x;
  x = a + c;
  total += x;
  total++;
  [x, total] = [total, x];
  for (const item of items) total += item;
  for (const k in { p: 1 }) x = k;
  try { null.f } catch (err) { x = 'caught' }
  return total;
}
console.log(work([1, 2]));
`,
    });
    const w = byName(spans, 'work')[0];
    expect(events(w, 'cti.var')).toEqual([
      ['total', '0', 2], ['a', '1', 3], ['c', '2', 3], ['x', '3', 5], ['total', '3', 6], ['total', '4', 7],
      ['x', '4', 8], ['total', '3', 8], ['item', '1', 9], ['total', '4', 9], ['item', '2', 9], ['total', '6', 9],
      ['k', '"p"', 10], ['x', '"p"', 10],
      ['err', "TypeError: Cannot read properties of null (reading 'f')", 11], ['x', '"caught"', 11],
    ]);
    expect(events(w, 'cti.loop')).toEqual([['for-of', 9, 2], ['for-in', 10, 1]]);
  });

  it('records if/else, else if, switch cases, default and ternaries', async () => {
    const { spans } = await same({
      'main.mjs': `function classify(n) {
  let kind;
  if (n < 0) kind = 'neg';
  else if (n === 0) { kind = 'zero' }
  else kind = 'pos';
  switch (n % 3) {
    case 0: kind += '/3'; break;
    case 1:
    case 2: kind += '/r'; break;
    default: kind += '?';
  }
  return n > 5 ? kind + '!' : kind;
}
console.log([-1, 0, 7].map(classify).join(' '));
`,
    });
    const [neg, zero, big] = byName(spans, 'classify');
    expect(events(neg, 'cti.branch')).toEqual([['if', 3], ['default', 10], ['ternary else', 12]]);
    expect(events(zero, 'cti.branch')).toEqual([['else if', 4], ['case', 7], ['ternary else', 12]]);
    expect(events(big, 'cti.branch')).toEqual([['else', 5], ['case', 8], ['case', 9], ['ternary', 12]]);
  });

  it('counts loop iterations in one event per loop and caps events per span', async () => {
    const { spans } = await same({
      'main.mjs': `function spin(n) {
  let sum = 0;
  outer: for (let i = 0; i < n; i++) {
    let j = 0;
    while (j < 3) { j++; if (j === 2) continue outer; }
  }
  do { sum++ } while (sum < 4);
  return sum;
}
console.log(spin(1000));
`,
    });
    const s = byName(spans, 'spin')[0];
    expect(s.events.length).toBe(128);
    expect(s.dropped_events_count).toBeGreaterThan(1000);
    const loops = events(s, 'cti.loop');
    expect(loops[0]).toEqual(['for', 3, 1000]);
    expect(loops[1]).toEqual(['while', 5, 2000]);
  });

  it('a million iterations do not grow the output', async () => {
    const { spans } = await same({
      'main.mjs': `function hot(n) { let x = 0; for (let i = 0; i < n; i++) { x = x + i; if (x % 2) x--; } return x }
console.log(hot(1_000_000));
`,
    });
    const s = byName(spans, 'hot')[0];
    expect(s.events.length).toBeLessThanOrEqual(128);
    expect(JSON.stringify(s).length).toBeLessThan(40_000);
    expect(events(s, 'cti.loop')[0]).toEqual(['for', 1, 1_000_000]);
  });
});
