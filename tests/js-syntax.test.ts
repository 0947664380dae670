/**
 * The JS/TS instrumenter across the language: every program must print and exit exactly as
 * written, and its spans must name the right functions at their original lines.
 */
import { parse } from '@babel/parser';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';
import { describe, expect, it } from 'vitest';
import { instrument } from '../src/core/index.js';
import type { SpanData } from '../src/runtime/span-data.js';
import { byName, events, REPO, runBoth, RUNTIME, spanTree, type RunBothOptions } from './helpers/run-both.js';
import { tsTranspile, typeCheck } from './helpers/transpile.js';

/** Same stdout, stderr and exit status as the original. */
async function same(files: Record<string, string>, entry = 'main.mjs', opts: RunBothOptions = {}) {
  const r = await runBoth(files, entry, opts);
  expect(r.instrumented).toEqual(r.original);
  return r;
}

const nameLines = (spans: SpanData[]) => [...new Set(spans.map((s) => `${s.name}:${s.attributes['code.line.number']}`))].sort();
const parentOf = (spans: SpanData[], s: SpanData) => spans.find((p) => p.span_id === s.parent_span_id);
const diagnosticsOf = (r: Awaited<ReturnType<typeof runBoth>>) => Object.values(r.results).flatMap((x) => x.diagnostics);

describe('TypeScript (types stripped by transpileModule after instrumenting)', () => {
  const TS_MAIN = `import type { Shape } from './types.js';
import { twice } from './util.js';
function identity<T>(x: T): T { return x }
function pair<A, B extends object = {}>(a: A, b: B): [A, B] { return [a, b] }
const asserted = <number>(<unknown>'5' as any);
const cfg = { port: 8080 } satisfies Record<string, number>;
enum Color { Red, Green = 'g', Blue = 4 }
const enum Dir { Up = 1 }
namespace NS { export const k = 1; export function f(n: number) { return n + k } export namespace Inner { export const g = () => 'inner' } }
function over(x: string): string;
function over(x: number): number;
function over(x: any) { return x }
abstract class Animal {
  abstract sound(): string;
  speak(this: Animal, times: number = 1): string { return this.sound().repeat(times) }
}
class Dog extends Animal {
  declare tag: string;
  name!: string;
  constructor(private readonly age: number, public owner?: string) { super(); this.name = 'rex' }
  sound() { return 'woof' }
  getAge(): number { return this.age }
}
function opt(o?: { m?: () => number }) { return o?.m?.() ?? -1 }
const shape: Shape = { w: 2 };
function useThis(this: { v: number }, add: number) { return this.v + add }
let definite!: number;
function init() { definite = 3 }
init();
const d = new Dog(3, 'ann');
console.log(identity<string>('x'), pair(1, { y: 2 }), asserted, cfg.port, Color.Green, Color[0], Dir.Up, NS.f(1), NS.Inner.g(), over(2), over('s'));
console.log(d.speak(2), d.getAge(), d.owner, d.name, opt({ m: () => 5 }), opt(), opt({}), shape.w, useThis.call({ v: 1 }, 2), definite, twice(4));
`;
  const TS_FILES = {
    'main.ts': TS_MAIN,
    'types.ts': 'export interface Shape { w: number }\nexport type Id = string;\n',
    'util.ts': 'export function twice(n: number): number { return n * 2 }\n',
  };

  it('generics, assertions, satisfies, enums, namespaces, overloads, abstract classes, parameter properties, this parameters, definite assignment, optional chaining, import type', async () => {
    const r = await same(TS_FILES, 'main.js', { transpile: tsTranspile() });
    expect(r.original.stdout).toBe("x [ 1, { y: 2 } ] 5 8080 g Red 1 2 inner 2 s\nwoofwoof 3 ann rex 5 -1 -1 2 3 3 8\n");
    expect(diagnosticsOf(r)).toEqual([]);
    expect(r.results['main.ts'].language).toBe('typescript');
    // Types are kept: the output is still TypeScript for the user's compiler.
    expect(r.results['main.ts'].code).toContain('function identity<T>(x: T): T {');
    expect(r.results['types.ts'].instrumented).toBe(false);
    const { spans } = r;
    expect(nameLines(spans)).toEqual([
      'Animal.speak:15', 'Dog.constructor:20', 'Dog.getAge:22', 'Dog.sound:21', 'NS.Inner.g:9', 'NS.f:9', 'identity:3', 'init:28',
      'm:32', 'opt:24', 'over:12', 'pair:4', 'twice:1', 'useThis:26',
    ].sort());
    expect(spans.every((s) => s.attributes['cti.lang'] === 'typescript' && s.status.code === 'OK')).toBe(true);
    // Overload signatures and abstract methods have no body: only the implementation is a span.
    expect(byName(spans, 'over').map((s) => s.attributes['cti.arg.x'])).toEqual(['2', '"s"']);
    expect(byName(spans, 'Dog.constructor')[0].attributes).toMatchObject({ 'cti.arg.age': '3', 'cti.arg.owner': '"ann"' });
    expect(events(byName(spans, 'Dog.constructor')[0], 'cti.var')).toEqual([['this.name', '"rex"', 20]]);
    // A `this` parameter is a type, not an argument.
    expect(Object.keys(byName(spans, 'useThis')[0].attributes).filter((k) => k.startsWith('cti.arg.'))).toEqual(['cti.arg.add']);
    expect(byName(spans, 'Animal.speak')[0].attributes['cti.arg.times']).toBe('2');
    expect(spanTree(spans)).toContain('Animal.speak:15\n  Dog.sound:21');
    expect(spanTree(spans)).toContain('opt:24\n  m:32');
    expect(events(byName(spans, 'init')[0], 'cti.var')).toEqual([['definite', '3', 28]]);
    expect(byName(spans, 'twice')[0].attributes['code.file.path']).toBe('util.ts');
  });

  it('instrumented TypeScript still type-checks (strict) wherever the original does', async () => {
    const files: Record<string, string> = {
      ...TS_FILES,
      'inference.ts': `export {};
declare function id<T>(x: T): T;
function evolving() {
  let a = id('a'); a = 'b';
  const list = []; list.push(1);
  let n = null; n = 5;
  let u; u = 'x';
  let v = undefined; v = 1;
  const k = 'const'; const kk: 'const' = k;
  return [a, list, n, u, v, kk];
}
type Shape = { kind: 'circle'; r: number } | { kind: 'square'; s: number };
function make(): Shape { return { kind: 'circle', r: 1 } }
const arrow = (): Shape => ({ kind: 'square', s: 2 });
async function awaits(p: Promise<number>): Promise<number> { const x: number = await p; await p; return x }
function* gen(): Generator<number, string, boolean> { const b: boolean = yield 1; yield 2; return String(b) }
function* deleg(): Generator<number, string, boolean> { const r: string = yield* gen(); return r }
function* untyped() { yield 1; yield; }
async function* agen() { for await (const x of [1, 2]) yield x }
function narrow(x: string | number) { if (typeof x === 'string') { x = x.length } return x.toFixed() }
function isString(x: unknown): x is string { return typeof x === 'string' }
class Box<T> { constructor(private value: T) {} get(): T { return this.value } set(v: T) { this.value = v; return this } }
export const all = [evolving(), make(), arrow(), awaits, deleg, untyped, agen, narrow(1), isString('s'), new Box(1).set(2).get()];
`,
    };
    const dir = join(REPO, 'tests/.tmp/typecheck');
    const instrumented: Record<string, string> = {};
    for (const [name, code] of Object.entries(files)) {
      const r = await instrument(code, { filename: join(dir, name), root: dir, runtime: RUNTIME });
      instrumented[name] = r.code;
    }
    expect(instrumented['inference.ts']).toContain(`${'__cti'}.enter(`);
    expect(typeCheck(files, dir)).toEqual([]);
    expect(typeCheck(instrumented, dir)).toEqual([]);
  });

  it('legacy decorators (experimentalDecorators) in .ts keep working, including parameter decorators', async () => {
    const files = {
      'main.ts': `export {};
function log(target: any, key: string, desc: PropertyDescriptor) {
  const orig = desc.value;
  desc.value = function (this: any, ...args: any[]) { return 'logged:' + orig.apply(this, args) };
  return desc;
}
function sealed<T extends { new (...a: any[]): {} }>(ctor: T) { return class extends ctor { sealed = true } }
function param(target: any, key: string, index: number) { calls.push(key + ':' + index) }
const calls: string[] = [];
@sealed
class Svc {
  @log greet(@param name: string) { return 'hi ' + name }
  static make() { return new Svc() }
}
console.log(new Svc().greet('bob'), (Svc.make() as any).sealed, calls);
`,
    };
    const r = await same(files, 'main.js', { transpile: tsTranspile({ experimentalDecorators: true }) });
    expect(r.original.stdout).toBe("logged:hi bob true [ 'greet:0' ]\n");
    expect(diagnosticsOf(r)).toEqual([]);
    const { spans } = r;
    expect(nameLines(spans)).toEqual(['Svc.greet:12', 'Svc.make:13', 'log:2', 'log.desc.value:4', 'param:8', 'sealed:7'].sort());
    // The decorated method runs inside the wrapper the decorator installed.
    expect(spanTree(spans)).toContain('log.desc.value:4\n  Svc.greet:12');
    expect(byName(spans, 'sealed')[0].attributes['cti.arg.ctor']).toBe('[class Svc]');
    expect(typeCheck({ 'main.ts': r.results['main.ts'].code }, join(REPO, 'tests/.tmp/tc-legacy'), { experimentalDecorators: true })).toEqual([]);
  });

  it('TC39 decorators in .js parse, stay attached, and run the same once lowered', async () => {
    const files = {
      'main.js': `function logged(value, context) {
  if (context.kind === 'method') return function (...args) { return \`[\${String(context.name)}] \` + value.apply(this, args) };
}
function bound(value, { name, addInitializer }) { addInitializer(function () { this[name] = this[name].bind(this) }) }
function field(_, ctx) { return (init) => init * 10 }
class Counter {
  @field count = 2;
  @logged @bound inc(by) { this.count += by; return this.count }
  static create() { return new Counter() }
}
export @logged class Decorated {}
const c = Counter.create();
const inc = c.inc;
console.log(inc(1), c.count);
`,
    };
    const r = await same(files, 'main.js', { transpile: tsTranspile({ files: /\.js$/ }) });
    expect(r.original.stdout).toBe('[inc] 21 21\n');
    expect(diagnosticsOf(r)).toEqual([]);
    const out = r.results['main.js'].code;
    expect(out).toContain('@field count = 2;');
    expect(out).toMatch(/@logged @bound inc\(by\) \{/);
    expect(out).toContain('export @logged class Decorated {}');
    const { spans } = r;
    expect(nameLines(spans)).toEqual(['Counter.create:9', 'Counter.inc:8', 'bound:4', 'bound.<anonymous>:4', 'field:5', 'field.<anonymous>:5', 'logged:1', 'logged.<anonymous>:2'].sort());
    // logged decorates inc and the class Decorated; bound and field one member each.
    expect([byName(spans, 'logged').length, byName(spans, 'bound').length, byName(spans, 'field').length]).toEqual([2, 1, 1]);
    expect(spanTree(spans)).toContain('logged.<anonymous>:2\n  Counter.inc:8');
    expect(events(byName(spans, 'Counter.inc')[0], 'cti.var')).toEqual([['this.count', '21', 8]]);
  });

  it('.cts with import/export and `import x = require()`, and .mts, are instrumented (CommonJS at run time)', async () => {
    const r = await same({
      'lib.cts': `import path = require('node:path');
function base(p: string): string { return path.basename(p) }
export = base;
`,
      'esm-syntax.cts': `import { join } from 'node:path';
export function joined(a: string, b: string) { return join(a, b) }
`,
      'main.cts': `import base = require('./lib.cjs');
import { joined } from './esm-syntax.cjs';
function run() { return base(joined('a', 'b.txt')) }
console.log(run());
`,
      'entry.mts': `import { createRequire } from 'node:module';
const load = (name: string) => createRequire(import.meta.url)(name);
console.log(typeof load('./main.cjs'));
`,
    }, 'entry.mjs', { transpile: tsTranspile() });
    expect(r.original.stdout).toBe('b.txt\nobject\n');
    expect(diagnosticsOf(r)).toEqual([]);
    for (const f of ['lib.cts', 'esm-syntax.cts', 'main.cts', 'entry.mts']) expect(r.results[f].instrumented).toBe(true);
    expect(spanTree(r.spans)).toContain('load:2\n  run:3\n    joined:2\n    base:2');
  });
});

describe('JSX and TSX', () => {
  const REACT = {
    'node_modules/react/package.json': '{"name":"react","type":"module","exports":{"./jsx-runtime":"./jsx-runtime.js"}}',
    'node_modules/react/jsx-runtime.js': 'export function jsx(type, props, key) { return { type, props, key } }\nexport const jsxs = jsx;\nexport const Fragment = "Fragment";\n',
  };
  const RENDER = `export function render(el) {
  if (el == null || typeof el !== 'object') return el;
  if (typeof el.type === 'function') return render(el.type(el.props));
  const kids = [].concat(el.props.children ?? []).flat().filter((k) => k !== false && k != null).map(render);
  const { children, ...props } = el.props;
  return { type: el.type, props, children: kids };
}
`;

  it('.tsx and .jsx: arrow handlers in props, ternaries and && inside {}', async () => {
    const r = await same({
      ...REACT,
      'render.jsx': RENDER,
      'main.tsx': `import { render } from './render.js';
type Props = { items: string[]; onPick: (s: string) => void; loading?: boolean };
function List({ items, onPick, loading }: Props) {
  return (
    <ul className="list">
      {loading ? <li>loading</li> : items.map((it, i) => <li key={i} onClick={() => onPick(it)}>{it}</li>)}
      {items.length === 0 && <li>empty</li>}
    </ul>
  );
}
const App = () => <List items={['a', 'b']} onPick={(s) => console.log('picked', s)} />;
const tree = render(<App />);
console.log(JSON.stringify(tree));
tree.children[0].props.onClick();
console.log(JSON.stringify(render(<List items={[]} onPick={() => {}} loading={false} />)));
console.log(JSON.stringify(render(<List items={['x']} onPick={() => {}} loading />)));
`,
    }, 'main.js', { transpile: tsTranspile(), instrumentOnly: ['main.tsx', 'render.jsx'] });
    expect(r.original.stdout.split('\n')[1]).toBe('picked a');
    expect(diagnosticsOf(r)).toEqual([]);
    const { spans } = r;
    expect(nameLines(spans)).toEqual([
      'App:11', 'App.<anonymous>:11', 'List:3', 'List.<anonymous>:6', 'List.<anonymous>.<anonymous>:6', 'render:1', 'render.<anonymous>:4',
    ].sort());
    expect(byName(spans, 'List').map((s) => events(s, 'cti.branch'))).toEqual([[['ternary else', 6]], [['ternary else', 6]], [['ternary', 6]]]);
    // The click handler was called from the top level; it called the handler App passed down.
    const click = byName(spans, 'List.<anonymous>.<anonymous>')[0];
    expect(click.parent_span_id).toBeNull();
    expect(parentOf(spans, byName(spans, 'App.<anonymous>')[0])).toBe(click);
    expect(spanTree(spans)).toContain('render:1\n  App:11\n  render:1\n    List:3\n      List.<anonymous>:6');
  });
});

describe('directive prologues and hashbangs', () => {
  const firstDirectives = (code: string, sourceType: 'module' | 'script') =>
    parse(code, { sourceType, allowReturnOutsideFunction: true }).program.directives.map((d) => d.value.value);

  it("'use strict' still applies to the whole file and stays its first statement", async () => {
    const r = await same({
      'main.cjs': `'use strict'
function assign() { undeclaredVar = 1; return 'unreachable' }
try { assign() } catch (e) { console.log(e.constructor.name, e.message) }
function who() { return this }
console.log(who(), (function () { return typeof this })());
assign();
`,
    }, 'main.cjs', { nodeArgs: ['--enable-source-maps'] });
    expect(r.original.stdout).toBe('ReferenceError undeclaredVar is not defined\nundefined undefined\n');
    expect(r.original.status).toBe(1);
    expect(r.original.stderr).toContain('ReferenceError: undeclaredVar is not defined');
    expect(firstDirectives(r.results['main.cjs'].code, 'script')).toEqual(['use strict']);
    expect(r.spans.filter((s) => s.name === 'assign').map((s) => s.status.code)).toEqual(['ERROR', 'ERROR']);
  });

  it("'use client' stays the first statement; function-level 'use strict' stays the function's", async () => {
    const r = await same({
      'main.mjs': `'use client'
export function f() { return 1 }
console.log(f());
`,
    });
    expect(r.original.stdout).toBe('1\n');
    const out = r.results['main.mjs'].code;
    expect(firstDirectives(out, 'module')).toEqual(['use client']);
    expect(out.split('\n')[0]).toMatch(/^'use client';\/\*cti:instrumented\*\/import \* as __cti from /);

    const sloppy = await same({
      'main.cjs': `function strictFn() {
  'use strict'
  try { undeclared2 = 1 } catch (e) { return e.constructor.name }
}
function sloppyFn() { undeclared3 = 1; return typeof undeclared3 + (this === globalThis) }
console.log(strictFn(), sloppyFn());
`,
    }, 'main.cjs');
    expect(sloppy.original.stdout).toBe('ReferenceError numbertrue\n');
    const fn = parse(sloppy.results['main.cjs'].code, { sourceType: 'script' }).program.body.find((s) => s.type === 'FunctionDeclaration')!;
    expect(fn.type === 'FunctionDeclaration' && fn.body.directives.map((d) => d.value.value)).toEqual(['use strict']);
    expect(events(byName(sloppy.spans, 'strictFn')[0], 'cti.var')).toEqual([['e', 'ReferenceError: undeclared2 is not defined', 3]]);
  });

  it('a hashbang line stays first and the .mjs still runs as an executable', async () => {
    const code = `#!/usr/bin/env node
function greet(who) { return 'hello ' + who }
console.log(greet(process.argv[2] ?? 'nobody'));
`;
    const dir = join(REPO, `tests/.tmp/hashbang-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const r = await instrument(code, { filename: join(dir, 'cli.mjs'), root: dir, runtime: RUNTIME });
    expect(r.code.split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(r.code.split('\n').length).toBe(code.split('\n').length);
    const run = (name: string, text: string, env: Record<string, string> = {}) => {
      const file = join(dir, name);
      writeFileSync(file, text);
      chmodSync(file, 0o755);
      const p = spawnSync(file, ['world'], { encoding: 'utf8', env: { PATH: `${process.execPath.replace(/\/node$/, '')}:${process.env.PATH ?? ''}`, ...env } });
      return { stdout: p.stdout, stderr: p.stderr, status: p.status };
    };
    const traces = join(dir, 'spans.jsonl');
    const original = run('orig.mjs', code);
    expect(original).toEqual({ stdout: 'hello world\n', stderr: '', status: 0 });
    expect(run('inst.mjs', r.code, { CTI_TRACES_FILE: traces })).toEqual(original);
    const spans = readFileSync(traces, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SpanData);
    expect(spans.map((s) => [s.name, s.attributes['code.line.number'], s.attributes['cti.arg.who']])).toEqual([['greet', 2, '"world"']]);
    rmSync(dir, { recursive: true, force: true });
  });
});
