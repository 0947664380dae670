/**
 * The JS/TS instrumenter across the language: every program must print and exit exactly as
 * written, and its spans must name the right functions at their original lines.
 */
import { parse } from '@babel/parser';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    expect(instrumented['inference.ts']).toContain(`${'__cti'}$enter(`);
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
      'button.jsx': `export const Button = ({ label, onPress, disabled }) => (
  <button disabled={disabled} onClick={() => onPress(label)}>
    {disabled ? <s>{label}</s> : label}
    {disabled && <span>!</span>}
  </button>
);
`,
      'main.tsx': `import { render } from './render.js'; import { Button } from './button.js';
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
const buttons = [false, true].map((disabled) => render(<Button label="go" disabled={disabled} onPress={(l: string) => console.log('pressed', l)} />));
console.log(JSON.stringify(buttons));
buttons[0].props.onClick();
`,
    }, 'main.js', { transpile: tsTranspile(), instrumentOnly: ['main.tsx', 'render.jsx', 'button.jsx'] });
    expect(r.original.stdout.split('\n')[1]).toBe('picked a');
    expect(r.original.stdout.split('\n').at(-2)).toBe('pressed go');
    expect(diagnosticsOf(r)).toEqual([]);
    const { spans } = r;
    expect(nameLines(spans)).toEqual([
      'App:11', 'App.<anonymous>:11', 'List:3', 'List.<anonymous>:6', 'List.<anonymous>.<anonymous>:6', 'render:1', 'render.<anonymous>:4',
      'Button:1', 'Button.<anonymous>:2', '<anonymous>:17', '<anonymous>.<anonymous>:17',
    ].sort());
    expect(byName(spans, 'Button').map((s) => events(s, 'cti.branch'))).toEqual([[['ternary else', 3]], [['ternary', 3]]]);
    expect(byName(spans, 'Button')[0].attributes['code.file.path']).toBe('button.jsx');
    expect(spanTree(spans)).toContain('Button.<anonymous>:2\n  <anonymous>.<anonymous>:17');
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
    expect(out.split('\n')[0]).toMatch(/^'use client';\/\*cti:instrumented\*\/import \{[^}]*\benter as __cti\$enter\b[^}]*\} from /);

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

describe('CommonJS', () => {
  it('.cjs and .js under {"type":"commonjs"}: module.exports, exports.x, require of an instrumented sibling, top-level return', async () => {
    const files = {
      'package.json': '{"type":"commonjs"}',
      'main.js': `const lib = require('./lib.js');
const { scale } = require('./util.cjs');
function main() { return [lib.add(1, 2), lib.mul(2, 3), scale(4), require('./early.cjs')] }
console.log(main().join(' '), typeof module.exports, __filename.endsWith('main.js'));
`,
      'lib.js': `exports.add = function (a, b) { return a + b };
module.exports.mul = (a, b) => a * b;
`,
      'util.cjs': `module.exports = { scale(n) { return n * 10 } };
`,
      'early.cjs': `function early() { return true }
if (early()) { module.exports = 'early'; return; }
module.exports = 'late';
`,
    };
    for (const moduleType of [undefined, 'auto'] as const) {
      const r = await same(files, 'main.js', { moduleType });
      expect(r.original.stdout).toBe('3 6 40 early object true\n');
      expect(diagnosticsOf(r)).toEqual([]);
      for (const f of ['main.js', 'lib.js', 'util.cjs', 'early.cjs']) {
        expect(r.results[f].code).toMatch(/^\/\*cti:instrumented\*\/var \{[^}]*\benter:__cti\$enter\b[^}]*\}=require\("/);
        expect(r.results[f].code).not.toContain('import ');
      }
      expect(spanTree(r.spans)).toContain('main:3\n  add:1\n  mul:2\n  scale:1\n  early:1');
      expect(byName(r.spans, 'add')[0].attributes['code.file.path']).toBe('lib.js');
    }
  });

  it('a .js file without import/export in a "type":"module" package gets the ESM runtime import when the host says so', async () => {
    const r = await same({
      'package.json': '{"type":"module"}',
      'main.js': `function f(x) { return x * 2 }
console.log(f(2), typeof require);
`,
    }, 'main.js', { moduleType: 'auto' });
    expect(r.original.stdout).toBe('4 undefined\n');
    expect(r.results['main.js'].code).toMatch(/^\/\*cti:instrumented\*\/import \{[^}]*\benter as __cti\$enter\b[^}]*\} from /);
    expect(byName(r.spans, 'f')[0].attributes['cti.return']).toBe('4');
  });

  it('sloppy mode: mapped arguments and function declarations in blocks behave as written', async () => {
    const r = await same({
      'main.cjs': `function mapped(a, b) { a = 10; arguments[1] = 20; return [a, b, arguments[0], arguments[1], arguments.length].join() }
function unmapped(a, b = 2) { a = 10; return [a, arguments[0]].join() }
function inBlock(flag) {
  if (flag) { function hoisted() { return 'inner' } }
  return typeof hoisted === 'function' ? hoisted() : typeof hoisted;
}
function inSwitch(k) {
  switch (k) { case 1: function viaCase() { return 'case' } }
  return typeof viaCase;
}
function shadowed() {
  function g() { return 1 }
  { function g() { return 2 } }
  return g();
}
function evals() {
  eval('var fromEval = 1');
  function q() { return fromEval }
  return q();
}
console.log(mapped(1, 2), unmapped(1), inBlock(true), inBlock(false), inSwitch(1), inSwitch(2), shadowed(), evals());
`,
    }, 'main.cjs');
    expect(r.original.stdout).toBe('10,20,10,20,2 10,1 inner undefined function undefined 2 1\n');
    // The body of these two would change meaning inside our try block: left alone, with a warning.
    expect(diagnosticsOf(r).map((d) => [d.severity, d.line, d.column, d.message])).toEqual([
      ['warning', 11, 1, 'shadowed: not instrumented: sloppy-mode function "g" is declared again in a nested block'],
      ['warning', 16, 1, 'evals: not instrumented: sloppy-mode direct eval() could declare a var that clashes with a function declaration'],
    ]);
    expect(nameLines(r.spans)).toEqual(['evals.q:18', 'inBlock:3', 'inBlock.hoisted:4', 'inSwitch:7', 'inSwitch:7', 'mapped:1', 'shadowed.g:13', 'unmapped:2'].filter((v, i, a) => a.indexOf(v) === i).sort());
    expect(byName(r.spans, 'mapped')[0].attributes).toMatchObject({ 'cti.arg.a': '1', 'cti.arg.b': '2', 'cti.return': '"10,20,10,20,2"' });
    expect(events(byName(r.spans, 'mapped')[0], 'cti.var')).toEqual([['a', '10', 1]]);
    expect(byName(r.spans, 'inBlock.hoisted')[0].parent_span_id).toBe(byName(r.spans, 'inBlock')[0].span_id);
  });

  it('the same shapes in strict code are instrumented (block functions are block-scoped there anyway)', async () => {
    const r = await same({
      'main.mjs': `function shadowed() {
  function g() { return 1 }
  { function g() { return 2 } }
  return g();
}
console.log(shadowed());
`,
    });
    expect(r.original.stdout).toBe('1\n');
    expect(diagnosticsOf(r)).toEqual([]);
    expect(nameLines(r.spans)).toEqual(['shadowed:1', 'shadowed.g:2'].sort());
  });

  it('a body-level `var x` and `function x(){}` pair is skipped with a warning and runs the same', async () => {
    const r = await same({
      'main.cjs': `function clash() {
  var x = 1;
  function x() {}
  return typeof x;
}
function fine() { var y = 1; return y }
console.log(clash(), fine());
`,
    }, 'main.cjs');
    expect(r.original.stdout).toBe('number 1\n');
    expect(diagnosticsOf(r)).toEqual([{ file: expect.stringMatching(/main\.cjs$/), line: 1, column: 1, severity: 'warning', message: 'clash: not instrumented: "x" is declared twice at the top of the body' }]);
    expect(nameLines(r.spans)).toEqual(['fine:6']);
  });
});

describe('control flow and scoping', () => {
  it('top-level await in .mjs: spans started after it are roots, awaited calls keep their children', async () => {
    const { spans, original } = await same({
      'main.mjs': `const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function load(n) { await sleep(2); return child(n) }
function child(n) { return n * 2 }
const value = await load(3);
function after() { return value + 1 }
console.log(value, after());
for await (const v of [load(1), Promise.resolve(9)]) console.log(v, after());
`,
    });
    expect(original.stdout).toBe('6 7\n2 7\n9 7\n');
    expect(byName(spans, 'after').every((s) => s.parent_span_id === null)).toBe(true);
    expect(byName(spans, 'load').every((s) => s.parent_span_id === null)).toBe(true);
    expect(spanTree(spans)).toContain('load:2\n  sleep:1\n    sleep.<anonymous>:1\n  child:3');
  });

  it('labeled statements with break and continue', async () => {
    const { spans, original } = await same({
      'main.mjs': `function labeled(n) {
  let hits = 0;
  outer: for (let i = 0; i < n; i++) {
    inner: for (let j = 0; j < n; j++) {
      if (j === 1) continue outer;
      if (i === 2) break outer;
      hits++;
      if (j > 5) continue inner;
    }
  }
  block: { if (n) break block; hits = -1; }
  loop: while (true) { do { break loop } while (false) }
  return hits;
}
console.log(labeled(4));
`,
    });
    expect(original.stdout).toBe('2\n');
    const s = byName(spans, 'labeled')[0];
    expect(events(s, 'cti.loop')).toEqual([['for', 3, 3], ['for', 4, 5], ['while', 12, 1], ['do-while', 12, 1]]);
    expect(events(s, 'cti.branch')).toEqual([['if', 5], ['if', 5], ['if', 6], ['if', 11]]);
    expect(s.attributes['cti.return']).toBe('2');
  });

  it('return inside try/finally, and a finally that overrides the return, throws, or cancels it', async () => {
    const { spans, original } = await same({
      'main.mjs': `function tf(x) {
  try { return 'try' + x } finally { console.log('finally', x) }
}
function override() {
  try { return 'a' } finally { return 'b' }
}
function overrideThrow() {
  try { throw new Error('first') } finally { return 'swallowed' }
}
function finallyThrows() {
  try { return 'never' } finally { throw new RangeError('from finally') }
}
function caller() { try { return finallyThrows() } catch (e) { return e.message } }
function cancelled() { for (;;) { try { return 'never' } finally { break } } }
function nested() { try { try { return 'inner' } finally { console.log('f1') } } finally { console.log('f2') } }
console.log(tf(1), override(), overrideThrow(), caller(), cancelled(), nested());
`,
    });
    expect(original.stdout).toBe('finally 1\nf1\nf2\ntry1 b swallowed from finally undefined inner\n');
    expect(byName(spans, 'tf')[0].attributes['cti.return']).toBe('"try1"');
    expect(byName(spans, 'override')[0].attributes['cti.return']).toBe('"b"');
    expect(byName(spans, 'overrideThrow')[0]).toMatchObject({ status: { code: 'OK' }, attributes: { 'cti.return': '"swallowed"' } });
    const ft = byName(spans, 'finallyThrows')[0];
    expect(ft.status).toEqual({ code: 'ERROR', message: 'RangeError: from finally' });
    expect(ft.attributes['cti.return']).toBeUndefined();
    expect(events(ft, 'exception')[0].slice(0, 2)).toEqual(['RangeError', 'from finally']);
    // The break in the finally cancelled the return: the function fell off its end.
    expect(byName(spans, 'cancelled')[0].status.code).toBe('OK');
    expect(byName(spans, 'cancelled')[0].attributes['cti.return']).toBeUndefined();
    expect(byName(spans, 'nested')[0].attributes['cti.return']).toBe('"inner"');
  });

  it('TDZ: reading a let before its declaration throws the same ReferenceError, caught or not', async () => {
    const { spans, original } = await same({
      'main.mjs': `function tdz() {
  try { console.log(later) } catch (e) { console.log(e.constructor.name, e.message) }
  let later = 1;
  return later;
}
function crash() { const f = () => early; f(); let early = 2; }
console.log(tdz());
crash();
`,
    }, 'main.mjs', { nodeArgs: ['--enable-source-maps'] });
    expect(original.stdout).toBe("ReferenceError Cannot access 'later' before initialization\n1\n");
    expect(original.status).toBe(1);
    expect(original.stderr).toContain("ReferenceError: Cannot access 'early' before initialization");
    expect(events(byName(spans, 'tdz')[0], 'cti.var')).toEqual([['e', "ReferenceError: Cannot access 'later' before initialization", 2], ['later', '1', 3]]);
    expect(byName(spans, 'crash')[0].status).toEqual({ code: 'ERROR', message: "ReferenceError: Cannot access 'early' before initialization" });
  });

  it('switch with let/const in cases', async () => {
    const { spans, original } = await same({
      'main.mjs': `function sw(k) {
  switch (k) {
    case 1: let a = 'one'; return a;
    case 2: { const b = 'two'; return b }
    case 3: a = 'three'; return a;
    default: { let a = 'dflt'; return a }
  }
}
const safe = (k) => { try { return sw(k) } catch (e) { return e.message } };
console.log(sw(1), sw(2), safe(3), sw(4));
`,
    });
    expect(original.stdout).toBe("one two Cannot access 'a' before initialization dflt\n");
    const [one, two, three, four] = byName(spans, 'sw');
    expect(events(one, 'cti.var')).toEqual([['a', '"one"', 3]]);
    expect(events(two, 'cti.branch')).toEqual([['case', 4]]);
    expect(three.status.code).toBe('ERROR');
    expect(events(four, 'cti.branch')).toEqual([['default', 6]]);
  });

  it('accessors on object literals, new.target, super in object methods, async arrows with expression bodies, static blocks, private fields and #x in obj', async () => {
    const { spans, original } = await same({
      'main.mjs': `const acc = { _v: 1, get v() { return this._v }, set v(x) { this._v = x * 2 } };
function NT() { return new.target === NT ? 'new' : 'call' }
const base = { hello() { return 'base hello' } };
const derived = { __proto__: base, hello() { return super.hello() + ' derived' }, arrow() { return (() => super.hello())() } };
const aarrow = async (x) => x * 2;
const aobj = async () => ({ k: await aarrow(1) });
class SB { static v; static #count = 0; static { SB.v = helper(3); SB.#count++ } static count() { return SB.#count } }
function helper(x) { return x + 1 }
class P { #x = 1; #m() { return this.#x } static has(o) { return #x in o } get x() { return this.#m() } }
acc.v = 5;
console.log(acc.v, NT(), new NT() instanceof NT, derived.hello(), derived.arrow(), await aarrow(4), await aobj(), SB.v, SB.count());
console.log(P.has(new P()), P.has({}), new P().x);
`,
    });
    expect(original.stdout).toBe("10 call true base hello derived base hello 8 { k: 2 } 4 1\ntrue false 1\n");
    expect(nameLines(spans)).toEqual([
      'NT:2', 'P.#m:9', 'P.has:9', 'P.x:9', 'SB.count:7', 'aarrow:5', 'acc.v:1', 'aobj:6', 'base.hello:3', 'derived.arrow:4', 'derived.arrow.<anonymous>:4', 'derived.hello:4', 'helper:8',
    ].sort());
    expect(byName(spans, 'NT').map((s) => s.attributes['cti.return'])).toEqual(['"call"', '"new"']);
    expect(spanTree(spans)).toContain('derived.hello:4\n  base.hello:3');
    expect(spanTree(spans)).toContain('aobj:6\n  aarrow:5');
    expect(byName(spans, 'aobj')[0].attributes['cti.return']).toBe('{ k: 2 }');
    expect(events(byName(spans, 'acc.v').find((s) => s.attributes['cti.arg.x'] === '5')!, 'cti.var')).toEqual([['this._v', '10', 1]]);
    expect(byName(spans, 'P.has').map((s) => s.attributes['cti.return'])).toEqual(['true', 'false']);
  });

  it("generators: .throw(), .return() through finally, yield* delegation, for await over a sync iterable", async () => {
    const { spans, original } = await same({
      'main.mjs': `function* g() { try { yield 1; yield 2 } catch (e) { yield 'caught ' + e } finally { console.log('cleanup') } }
function* deleg() { const r = yield* g(); return r }
function* twoStep() { try { yield 1 } finally { yield 'closing' } }
function drive() {
  const it = g();
  const out = [it.next().value, it.throw('boom').value, it.next().done];
  const it2 = g(); it2.next(); out.push(it2.return('early').value);
  const it3 = twoStep(); it3.next(); out.push(it3.return('r').value, it3.next().value);
  for (const v of g()) { out.push(v); break }
  return out;
}
function consume() { return [...deleg()] }
async function fa() { const out = []; for await (const v of [1, Promise.resolve(2), 3]) out.push(v); return out }
async function* rejects() { yield 1; await Promise.reject(new Error('rejected')) }
async function consumeRejects() { try { for await (const v of rejects()) {} } catch (e) { return e.message } }
console.log(drive(), consume(), await fa(), await consumeRejects());
`,
    });
    expect(original.stdout).toBe("cleanup\ncleanup\ncleanup\ncleanup\n[ 1, 'caught boom', true, 'early', 'closing', 'r', 1 ] [ 1, 2 ] [ 1, 2, 3 ] rejected\n");
    const tree = spanTree(spans);
    // Closed by return() (also through finally blocks, one that yields again) or a for-of break: not errors.
    expect(tree).toContain('drive:4\n  g:1\n  g:1\n  twoStep:3\n  g:1');
    expect(byName(spans, 'g').every((s) => s.status.code === 'OK')).toBe(true);
    expect(byName(spans, 'twoStep')[0].status.code).toBe('OK');
    // A delegated generator runs for whoever drives the delegating one.
    expect(tree).toContain('consume:12\n  deleg:2\n  g:1');
    const [thrown] = byName(spans, 'g').filter((s) => events(s, 'cti.var').length);
    expect(events(thrown, 'cti.var')).toEqual([['e', '"boom"', 1]]);
    const fa = byName(spans, 'fa')[0];
    expect(events(fa, 'cti.loop')).toEqual([['for-await', 13, 3]]);
    expect(fa.attributes['cti.return']).toBe('[ 1, 2, 3 ]');
    // An async generator that dies of a rejected await is an error, not a closed generator; the
    // loop that consumes it is its parent, and catches what it threw.
    expect(byName(spans, 'rejects')[0].status).toEqual({ code: 'ERROR', message: 'Error: rejected' });
    expect(parentOf(spans, byName(spans, 'rejects')[0])?.name).toBe('consumeRejects');
  });

  it('for await loops in arms, loop bodies and under labels hand the context back after the loop', async () => {
    const run = async (config?: RunBothOptions['config']) => {
      const { spans, original } = await same({
        'main.mjs': `function g() { return 1 }
async function f(c) { if (c) for await (const x of [1, 2]) g(); return g() }
async function h(c) { while (c--) for await (const x of [1]) {} return g() }
async function k(c) { outer: inner: for await (const x of [1, 2]) { if (x) continue outer; } do lbl: for await (const y of [3]) {} while (c--); return g() }
console.log(await f(true), await h(2), await k(1), g());
`,
      }, 'main.mjs', { config });
      expect(original.stdout).toBe('1 1 1 1\n');
      // Every g() but the last, top-level one, is called by f, h or k.
      expect(byName(spans, 'g').map((s) => parentOf(spans, s)?.name ?? null)).toEqual(['f', 'f', 'f', 'h', 'k', null]);
    };
    await run();
    await run({ capture: { loops: false, variables: false, branches: false } });
  });

  it('a for await over a plain array lends its span to nothing the caller runs meanwhile', async () => {
    const { spans } = await same({
      'main.mjs': `function* gen() { yield 1 }
async function consume() { for await (const x of [1, 2]) {} return 'done' }
function caller() { const p = consume(); const out = []; for (const v of gen()) out.push(v); return p }
console.log(await caller());
`,
    });
    expect(spanTree(spans)).toBe('caller:3\n  consume:2\n  gen:1');
  });

  it('comma expressions in returns, empty bodies, default parameters that use earlier ones and closures', async () => {
    const { spans, original } = await same({
      'main.mjs': `function comma(x) { return x++, x * 2 }
function empty() {}
const emptyArrow = () => {};
class E { constructor() {} m() {} }
function defaults(a, b = a + 1, c = () => a + b, { d = b * 2 } = {}, ...rest) { return [c(), d, rest.length].join() }
function lazy(x = (() => { calls++; return 5 })()) { return x }
let calls = 0;
console.log(comma(3), empty(), emptyArrow(), new E().m(), defaults(1), defaults(1, 5, undefined, { d: 0 }, 9), lazy(), lazy(1), calls);
`,
    });
    expect(original.stdout).toBe('8 undefined undefined undefined 3,4,0 6,0,1 5 1 1\n');
    expect(byName(spans, 'comma')[0].attributes).toMatchObject({ 'cti.arg.x': '3', 'cti.return': '8' });
    for (const n of ['empty', 'emptyArrow', 'E.constructor', 'E.m']) {
      const s = byName(spans, n)[0];
      expect(s.status.code).toBe('OK');
      expect(s.attributes['cti.return']).toBeUndefined();
    }
    const [d1, d2] = byName(spans, 'defaults');
    expect(d1.attributes).toMatchObject({ 'cti.arg.a': '1', 'cti.arg.b': '2', 'cti.arg.c': '[Function: c]', 'cti.arg.d': '4', 'cti.arg.rest': '[]' });
    expect(d2.attributes).toMatchObject({ 'cti.arg.b': '5', 'cti.arg.d': '0', 'cti.arg.rest': '[ 9 ]' });
    // The closure from the default runs inside the call; the default's IIFE runs before the span starts.
    expect(parentOf(spans, byName(spans, 'defaults.c')[0])).toBe(d1);
    expect(byName(spans, 'lazy.<anonymous>')[0].parent_span_id).toBeNull();
  });
});

describe('opt-outs', () => {
  it('// cti-ignore before a function: no span for it, it still runs', async () => {
    const { spans, original } = await same({
      'main.mjs': `// cti-ignore
function skipped(x) { return inner(x) }
function inner(x) { return x + 1 }
const obj = {
  /* cti-ignore -- sent to another realm */
  method() { return 'm' },
  kept() { return 'k' },
};
class C {
  // cti-ignore
  static quiet() { return 'q' }
  loud() { return 'l' }
}
console.log(skipped(1), obj.method(), obj.kept(), C.quiet(), new C().loud(), skipped.toString().includes('__cti'));
`,
    });
    expect(original.stdout).toBe('2 m k q l false\n');
    expect(nameLines(spans)).toEqual(['C.loud:12', 'inner:3', 'obj.kept:7']);
  });

  it('/* cti-ignore-file */ leaves the file byte for byte', async () => {
    const code = `/* cti-ignore-file */\nfunction f() { return 1 }\nconsole.log(f());\n`;
    const r = await same({ 'main.mjs': code });
    expect(r.results['main.mjs']).toMatchObject({ code, instrumented: false, map: null });
    expect(r.results['main.mjs'].diagnostics.map((d) => d.severity)).toEqual(['info']);
    expect(r.spans).toEqual([]);
  });
});

describe('idempotence, parse failures, hygiene, source maps', () => {
  const opts = (filename: string) => ({ filename: join(REPO, 'tests/.tmp/x', filename), root: join(REPO, 'tests/.tmp/x'), runtime: RUNTIME });

  it('instrumenting instrumented output returns it unchanged', async () => {
    for (const [name, code] of [
      ['a.mjs', 'export function f(a) { if (a) return a; for (const x of [1]) a += x; return a }\n'],
      ['b.cjs', "'use strict'\nmodule.exports = (x) => x * 2;\n"],
      ['c.ts', 'export const g = <T,>(x: T): T => x;\n'],
      ['d.mjs', 'const __cti = 1;\nexport function h() { return __cti }\n'],
    ]) {
      const once = await instrument(code, opts(name));
      expect(once.instrumented).toBe(true);
      const twice = await instrument(once.code, opts(name));
      expect(twice).toMatchObject({ code: once.code, instrumented: false, map: null });
    }
  });

  it('a file that does not parse comes back unchanged with one error diagnostic at the right place', async () => {
    const cases: [string, string, number, number, RegExp][] = [
      ['bad.js', 'function ok() {}\nconst x = {\n  a: 1,,\n};\n', 3, 8, /^cannot parse: Unexpected token/],
      ['bad.mjs', 'export function f() {\n  return "unterminated;\n}\n', 2, 10, /^cannot parse: Unterminated string constant/],
      ['bad.ts', 'function f(x: number {\n  return x\n}\n', 1, 22, /^cannot parse: Unexpected token, expected ","/],
      ['bad.cjs', 'function g() {}\n\n  let let = 1;\n', 3, 7, /^cannot parse: .*let/],
    ];
    for (const [name, code, line, column, message] of cases) {
      const r = await instrument(code, opts(name));
      expect(r.code).toBe(code);
      expect(r.instrumented).toBe(false);
      expect(r.diagnostics).toHaveLength(1);
      expect(r.diagnostics[0]).toMatchObject({ severity: 'error', line, column });
      expect(r.diagnostics[0].message).toMatch(message);
    }
  });

  it('user code already using __cti, __cti$s and __cti$f still works', async () => {
    const r = await same({
      'main.mjs': `const __cti = 'user';
const __cti$s = 5;
function g(__cti$f) { const __ctix = __cti + __cti$s + __cti$f; return __ctix }
const obj = { __cti: (x) => x, __cti$s() { return 's' } };
console.log(g('!'), obj.__cti(1), obj.__cti$s(), typeof __cti$f);
`,
    });
    expect(r.original.stdout).toBe('user5! 1 s undefined\n');
    expect(r.results['main.mjs'].code).toMatch(/import \{.*\benter as (__cti[0-9a-f]{8})\$enter\b.*\} from .*\1\$f=/);
    expect(byName(r.spans, 'g')[0].attributes).toMatchObject({ 'cti.arg.__cti$f': '"!"', 'cti.return': '"user5!"' });
    expect(nameLines(r.spans)).toEqual(['g:3', 'obj.__cti$s:4', 'obj.__cti:4']);
  });

  it('the source map sends a token after an insertion back to its original line and column', async () => {
    const code = `function add(a, b) {
  const sum = a + b; if (sum > 10) return 'big';
  return sum * 2;
}
export const twice = (x) => add(x, x);
`;
    const r = await instrument(code, opts('map.mjs'));
    const map = new TraceMap(r.map as never);
    const outLines = r.code.split('\n');
    expect(outLines).toHaveLength(code.split('\n').length);
    for (const [line, token] of [[2, "'big'"], [2, 'a + b'], [3, 'sum * 2'], [5, 'add(x, x)']] as const) {
      const column = outLines[line - 1].indexOf(token);
      const original = code.split('\n')[line - 1].indexOf(token);
      expect(column).toBeGreaterThan(original); // something was inserted before it
      expect(originalPositionFor(map, { line, column })).toMatchObject({ line, column: original, source: expect.stringMatching(/map\.mjs$/) });
    }
  });
});
