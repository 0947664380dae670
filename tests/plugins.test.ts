/**
 * The bundler plugins: one fixture app (classes with private members, generators, async
 * generators, top-level await, TypeScript, decorators, JSX/TSX, a 'use client' module, CommonJS
 * input, a caught and an uncaught error) built with every bundler for Node, as ES module and as
 * CommonJS output, and run under `node --enable-source-maps` next to the unbundled original.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO } from './helpers/run-both.js';
import { tsTranspile } from './helpers/transpile.js';
import type { SpanData } from '../src/runtime/span-data.js';

const FIXTURE = join(REPO, 'tests/plugins/fixtures/app');
const TS_LOADER = join(REPO, 'tests/plugins/fixtures/esbuild-ts-loader.cjs');
const TMP = join(REPO, 'tests/.tmp/plugins');
const CACHE = join(TMP, 'cache');
const ENTRY = join(FIXTURE, 'src/main.js');
/** The same modules without top-level await, for CommonJS output. */
const CJS_ENTRY = join(FIXTURE, 'src/sync-main.js');
const plugin = async (name: string) => (await import(`../dist/plugins/${name}.js`)).default;
const options = () => ({ cacheDir: CACHE, root: FIXTURE });
/** The fixture's decorators are TypeScript's `experimentalDecorators`. */
const TSCONFIG = { compilerOptions: { experimentalDecorators: true } };

interface Outcome { stdout: string; stderr: string; status: number | null; spans: SpanData[] }

function run(file: string, traces: string | null): Promise<Outcome> {
  return new Promise((done) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.CTI_TRACES_FILE;
    delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
    delete env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    delete env.RECEIVER_URL;
    if (traces) env.CTI_TRACES_FILE = traces;
    const child = spawn(process.execPath, ['--enable-source-maps', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => {
      const spans = traces && existsSync(traces)
        ? readFileSync(traces, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as SpanData)
        : [];
      done({ stdout, stderr, status, spans });
    });
  });
}

/** The 1-based line of the first line of a fixture file that contains `text`. */
function lineOf(file: string, text: string): number {
  const i = readFileSync(join(FIXTURE, file), 'utf8').split('\n').findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`${text} not in ${file}`);
  return i + 1;
}

// ---- builds: each returns the path of the bundle to run ----

/** Each bundler builds twice: the ES module app (top-level await) and a CommonJS bundle of the same modules. */
type Format = 'esm' | 'cjs';
type Build = (out: string, format: Format) => Promise<string>;
const entry = (format: Format) => (format === 'esm' ? ENTRY : CJS_ENTRY);
const bundleName = (format: Format) => (format === 'esm' ? 'main.js' : 'main.cjs');

/** webpack's and Rspack's output settings for a Node bundle in `format`. */
const webpackNodeOutput = (out: string, format: Format) => ({
  output: format === 'esm'
    ? { path: out, filename: 'main.js', module: true, chunkFormat: 'module' as const, library: { type: 'module' as const } }
    : { path: out, filename: 'main.cjs' },
  experiments: { outputModule: format === 'esm' },
});

const builds: Record<string, Build> = {
  async vite(out, format) {
    const { build } = await import('vite');
    await build({
      root: FIXTURE, configFile: false, logLevel: 'silent',
      plugins: [(await plugin('vite'))({ cacheDir: CACHE })], // root: Vite's
      esbuild: { tsconfigRaw: TSCONFIG },
      build: {
        ssr: entry(format), outDir: out, emptyOutDir: true, sourcemap: true, minify: false, target: 'node20',
        rollupOptions: { output: { format: format === 'esm' ? 'es' : 'cjs', entryFileNames: bundleName(format) } },
        // The fixture's own .cjs module goes through Vite's CommonJS plugin too; the runtime is ESM.
        commonjsOptions: { include: [/\.cjs$/, /node_modules/], esmExternals: true },
      },
    });
    return join(out, bundleName(format));
  },
  async rollup(out, format) {
    const { rollup } = await import('rollup');
    const commonjs = (await import('@rollup/plugin-commonjs')).default;
    const { transform } = await import('esbuild');
    const bundle = await rollup({
      input: entry(format),
      plugins: [
        (await plugin('rollup'))(options()),
        commonjs({ esmExternals: true }),
        { // TypeScript: types stripped by esbuild; Rollup chains this map to ours.
          name: 'ts',
          async transform(code: string, id: string) {
            if (!/\.tsx?$/.test(id)) return null;
            const r = await transform(code, { loader: id.endsWith('x') ? 'tsx' : 'ts', sourcemap: 'external', sourcefile: id, target: 'es2022', tsconfigRaw: TSCONFIG });
            return { code: r.code, map: r.map };
          },
        },
      ],
      onwarn() {},
    });
    await bundle.write({ file: join(out, bundleName(format)), format: format === 'esm' ? 'es' : 'cjs', sourcemap: true });
    await bundle.close();
    return join(out, bundleName(format));
  },
  async rolldown(out, format) {
    const { build } = await import('rolldown');
    await build({
      input: entry(format), platform: 'node', logLevel: 'silent',
      transform: { decorator: { legacy: true } },
      plugins: [(await plugin('rolldown'))(options())],
      output: { file: join(out, bundleName(format)), format: format === 'esm' ? 'es' : 'cjs', sourcemap: true },
    });
    return join(out, bundleName(format));
  },
  async esbuild(out, format) {
    const { build } = await import('esbuild');
    await build({
      entryPoints: [entry(format)], bundle: true, platform: 'node', format, target: 'node20', sourcemap: true,
      outfile: join(out, bundleName(format)), logLevel: 'silent', tsconfigRaw: TSCONFIG,
      // ESM output: CommonJS modules of the bundle require() externals (here the runtime) through this.
      banner: format === 'esm' ? { js: "import { createRequire as __ctiCreateRequire } from 'node:module'; const require = __ctiCreateRequire(import.meta.url);" } : {},
      plugins: [(await plugin('esbuild'))(options())],
    });
    return join(out, bundleName(format));
  },
  async webpack(out, format) {
    const webpack = (await import('webpack')).default;
    const compiler = webpack({
      mode: 'none', target: 'node20', context: FIXTURE, entry: entry(format), devtool: 'source-map',
      ...webpackNodeOutput(out, format),
      module: { rules: [{ test: /\.tsx?$/, use: [TS_LOADER] }] },
      plugins: [(await plugin('webpack'))(options())],
      infrastructureLogging: { level: 'none' },
    });
    await compile(compiler);
    return join(out, bundleName(format));
  },
  async rspack(out, format) {
    const { rspack } = await import('@rspack/core');
    const compiler = rspack({
      mode: 'none', target: 'node20', context: FIXTURE, entry: entry(format), devtool: 'source-map',
      ...webpackNodeOutput(out, format),
      module: { rules: [/\.ts$/, /\.tsx$/].map((test) => ({ test, loader: 'builtin:swc-loader', options: { jsc: {
        parser: { syntax: 'typescript', tsx: test.source.includes('x'), decorators: true }, transform: { legacyDecorator: true }, target: 'es2022',
      } } })) },
      plugins: [(await plugin('rspack'))(options())],
      infrastructureLogging: { level: 'none' },
    });
    await compile(compiler);
    return join(out, bundleName(format));
  },
};

interface Compiler {
  run(cb: (err: Error | null, stats?: { hasErrors(): boolean; toString(o?: unknown): string }) => void): void;
  close(cb: (err?: Error | null) => void): void;
}

function compile(compiler: unknown): Promise<void> {
  const c = compiler as Compiler;
  return new Promise((done, fail) => {
    c.run((err, stats) => {
      c.close(() => {
        if (err) fail(err);
        else if (stats?.hasErrors()) fail(new Error(stats.toString({ all: false, errors: true })));
        else done();
      });
    });
  });
}

/** The unbundled original, runnable on Node 20: its TypeScript files compiled to .js, nothing else touched. */
function original(): string {
  const dir = join(TMP, 'original');
  rmSync(dir, { recursive: true, force: true });
  cpSync(FIXTURE, dir, { recursive: true });
  const ts = tsTranspile({ experimentalDecorators: true });
  const entries = ['main.js', 'sync-main.js'].map((f) => join(dir, 'src', f));
  for (const name of readdirSync(join(dir, 'src')).filter((f) => /\.tsx?$/.test(f))) {
    const out = ts(name, readFileSync(join(dir, 'src', name), 'utf8'))!;
    writeFileSync(join(dir, 'src', out.name), out.code);
    for (const e of entries) writeFileSync(e, readFileSync(e, 'utf8').replace(`'./${name}'`, `'./${out.name}'`));
  }
  return dir;
}

const BUNDLERS = Object.keys(builds);
const FORMATS: Format[] = ['esm', 'cjs'];
/** Keyed `bundler/format`. */
const outcomes: Record<string, Outcome | Error> = {};
const references = {} as Record<Format, Outcome>;

beforeAll(async () => {
  rmSync(TMP, { recursive: true, force: true });
  mkdirSync(TMP, { recursive: true });
  const dir = original();
  const runs: Promise<void>[] = FORMATS.map((format) =>
    run(join(dir, 'src', format === 'esm' ? 'main.js' : 'sync-main.js'), null).then((o) => void (references[format] = o)));
  // One after the other: two cores, and builds share the cache directory.
  for (const name of BUNDLERS) {
    for (const format of FORMATS) {
      const key = `${name}/${format}`;
      try {
        const file = await builds[name](join(TMP, name, format), format);
        runs.push(run(file, join(TMP, `${name}-${format}.jsonl`)).then((o) => void (outcomes[key] = o)));
      } catch (e) {
        outcomes[key] = e as Error;
      }
    }
  }
  await Promise.all(runs);
}, 300_000);

const EXPECTED: Array<[name: string, file: string, text: string]> = [
  ['Counter.bump', 'src/shapes.js', 'bump() {'],
  ['Counter.#inc', 'src/shapes.js', '#inc(by) {'],
  ['Counter.value', 'src/shapes.js', 'get value() {'],
  ['Counter.explode', 'src/shapes.js', 'explode(reason) {'],
  ['range', 'src/gen.js', 'function* range'],
  ['ticks', 'src/gen.js', 'async function* ticks'],
  ['collect', 'src/gen.js', 'async function collect'],
  ['total', 'src/typed.ts', 'function total'],
  ['fail', 'src/typed.ts', 'function fail'],
  ['add', 'src/legacy.cjs', 'function add'],
  ['twice', 'src/legacy.cjs', 'const twice'],
  ['load', 'src/tla.js', 'async function load'],
  ['sealed', 'src/decorated.ts', 'function sealed'],
  ['Greeter.greet', 'src/decorated.ts', 'greet(who'],
  ['List', 'src/view.tsx', 'export function List'],
  ['Item', 'src/view.tsx', 'function Item'],
  ['useLabel', 'src/client.js', 'export function useLabel'],
];

/** The CommonJS bundle's entry (sync-main.js) has no top-level await (tla.js) and no caught error. */
const expectedFor = (format: Format) => (format === 'esm' ? EXPECTED : EXPECTED.filter(([name, file]) => file !== 'src/tla.js' && name !== 'Counter.explode'));

describe('the unbundled original', () => {
  it('runs and shows its own lines', () => {
    for (const format of FORMATS) {
      const reference = references[format];
      expect(reference.stdout).toContain('counter 4 1');
      expect(reference.stdout).toContain('greet hello you true\njsx <ul><li>A</li><li>B</li></ul>\nclient one item 3 items');
      expect(reference.stdout).toContain('collect 0,10,20');
      expect(reference.status).toBe(1);
    }
    expect(references.esm.stdout).toContain(`caught exploded: bad shapes.js:${lineOf('src/shapes.js', 'throw new Error')}`);
  });
});

describe.each(BUNDLERS.flatMap((b) => FORMATS.map((f) => [b, f] as const)))('%s, %s output', (bundler, format) => {
  const outcome = () => {
    const o = outcomes[`${bundler}/${format}`];
    if (o instanceof Error) throw o;
    return o;
  };
  const reference = () => references[format];

  it('builds, and the bundle prints what the original prints and exits the same', () => {
    const o = outcome();
    expect(o.stdout).toBe(reference().stdout);
    expect(o.status).toBe(reference().status);
  });

  it('exports a span per call with the original function names, files and lines', () => {
    const spans = outcome().spans;
    for (const [name, file, text] of expectedFor(format)) {
      const span = spans.find((s) => s.attributes['code.function.name'] === name);
      expect(span, `${name} span`).toBeDefined();
      expect(span!.attributes['code.file.path']).toBe(file);
      expect(span!.attributes['code.line.number'], name).toBe(lineOf(file, text));
    }
    expect(spans.filter((s) => s.attributes['code.function.name'] === 'Counter.bump')).toHaveLength(2);
  });

  it('maps a stack through the instrumented bundle to the original file and line', () => {
    const o = outcome();
    // Caught: the frame the program printed itself (compared with the original above).
    if (format === 'esm') expect(o.stdout).toContain(`caught exploded: bad shapes.js:${lineOf('src/shapes.js', 'throw new Error')}`);
    // Uncaught, thrown in TypeScript: Node prints the mapped stack, column included.
    expect(o.stderr).toMatch(new RegExp(`src/typed\\.ts:${lineOf('src/typed.ts', 'throw new Error')}:9\\b`));
  });

  it("has a source map whose sources are the original files in their folders, with the original text", () => {
    outcome();
    const map = JSON.parse(readFileSync(join(TMP, bundler, format, `${bundleName(format)}.map`), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
    const files = ['src/shapes.js', 'src/gen.js', 'src/typed.ts', 'src/legacy.cjs', 'src/decorated.ts', 'src/view.tsx', 'src/client.js'];
    for (const file of format === 'esm' ? [...files, 'src/main.js', 'src/tla.js'] : [...files, 'src/sync-main.js']) {
      const i = map.sources.findIndex((s) => s.endsWith(file));
      expect(i, `${file} in ${map.sources.join(', ')}`).toBeGreaterThanOrEqual(0);
      // Not the instrumented text: the plugin's map was kept and composed (unplugin issues 615/616).
      expect(map.sourcesContent?.[i]).toBe(readFileSync(join(FIXTURE, file), 'utf8'));
    }
  });
});

describe('the plugin filter', () => {
  it('strips queries, leaves virtual modules, node_modules and the runtime alone, and hits the cache', async () => {
    const { CtiTransformer } = await import('../dist/plugins/transform.js');
    const dir = join(TMP, 'unit');
    const t = new CtiTransformer({ root: FIXTURE, cacheDir: dir });
    expect(t.includes(join(FIXTURE, 'src/a.ts?v=123'))).toBe(true);
    expect(t.includes('\0commonjsHelpers.js')).toBe(false);
    expect(t.includes('virtual:thing.js')).toBe(false);
    expect(t.includes(join(FIXTURE, 'node_modules/x/index.js'))).toBe(false);
    expect(t.includes(join(REPO, 'dist/runtime/node.js'))).toBe(false);
    expect(t.includes(join(FIXTURE, 'src/style.css'))).toBe(false);
    const code = 'export function f(a) { return a + 1; }\n';
    const out = await t.transform(code, join(FIXTURE, 'src/a.js?v=123'));
    expect(out!.code).toContain('"src/a.js"');
    expect(out!.map!.sources).toEqual([join(FIXTURE, 'src/a.js')]);
    const { cacheStats } = await import('../dist/core/index.js');
    expect((await cacheStats(dir)).entries).toBe(1);
    const again = await new CtiTransformer({ root: FIXTURE, cacheDir: dir }).transform(code, join(FIXTURE, 'src/a.js'));
    expect(again!.code).toBe(out!.code);
    expect((await cacheStats(dir)).entries).toBe(1);
    // A 'use client' module keeps its directive first (the runtime import comes after it).
    const client = readFileSync(join(FIXTURE, 'src/client.js'), 'utf8');
    const clientOut = await new CtiTransformer({ root: FIXTURE, cacheDir: false }).transform(client, join(FIXTURE, 'src/client.js'));
    expect(clientOut!.code.startsWith("'use client';")).toBe(true);
    expect(clientOut!.code).toContain('code-telemetry-injector/runtime');
    const globbed = new CtiTransformer({ root: FIXTURE, cacheDir: false, include: ['src/**/*.ts'], exclude: [/skip/] });
    expect(globbed.includes(join(FIXTURE, 'src/a.ts'))).toBe(true);
    expect(globbed.includes(join(FIXTURE, 'src/a.js'))).toBe(false);
    expect(globbed.includes(join(FIXTURE, 'src/skip.ts'))).toBe(false);
  });
});

describe('diagnostics', () => {
  it("what cannot be instrumented is bundled as it is, with a warning in the bundler's output", async () => {
    const { rollup } = await import('rollup');
    const { default: cti } = await import('../dist/plugins/rollup.js');
    const dir = join(TMP, 'diagnostics');
    mkdirSync(dir, { recursive: true });
    // Wrapping this body in try {} would turn `x` into a duplicate declaration: the function is skipped.
    const source = 'export function clash() { var x = 1; function x() {} return typeof x; }\nconsole.log(clash());\n';
    writeFileSync(join(dir, 'main.js'), source);
    const warnings: string[] = [];
    const bundle = await rollup({ input: join(dir, 'main.js'), plugins: [cti({ root: dir, cacheDir: false })], onwarn: (w) => warnings.push(w.message) });
    const { output } = await bundle.generate({ format: 'es' });
    // clash itself is left as it is (its inner x is instrumented on its own).
    expect(output[0].code).toContain('function clash() { var x = 1; function x() {');
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`cti: ${join(dir, 'main.js').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:8: clash: not instrumented`))]);
  });
});
