/**
 * The bundler plugins: one fixture app (classes with private members, generators, async
 * generators, top-level await, TypeScript, CommonJS, a caught and an uncaught error) built with
 * every bundler for Node, run under `node --enable-source-maps` next to the unbundled original.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
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
const plugin = async (name: string) => (await import(`../dist/plugins/${name}.js`)).default;
const options = () => ({ cacheDir: CACHE, root: FIXTURE });

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

type Build = (out: string) => Promise<string>;

const builds: Record<string, Build> = {
  async vite(out) {
    const { build } = await import('vite');
    await build({
      root: FIXTURE, configFile: false, logLevel: 'silent',
      plugins: [(await plugin('vite'))({ cacheDir: CACHE })], // root: Vite's
      build: {
        ssr: ENTRY, outDir: out, emptyOutDir: true, sourcemap: true, minify: false, target: 'node20',
        rollupOptions: { output: { format: 'es', entryFileNames: 'main.js' } },
        // The fixture's own .cjs module goes through Vite's CommonJS plugin too; the runtime is ESM.
        commonjsOptions: { include: [/\.cjs$/, /node_modules/], esmExternals: true },
      },
    });
    return join(out, 'main.js');
  },
  async rollup(out) {
    const { rollup } = await import('rollup');
    const commonjs = (await import('@rollup/plugin-commonjs')).default;
    const { transform } = await import('esbuild');
    const bundle = await rollup({
      input: ENTRY,
      plugins: [
        (await plugin('rollup'))(options()),
        commonjs({ esmExternals: true }),
        { // TypeScript: types stripped by esbuild; Rollup chains this map to ours.
          name: 'ts',
          async transform(code: string, id: string) {
            if (!id.endsWith('.ts')) return null;
            const r = await transform(code, { loader: 'ts', sourcemap: 'external', sourcefile: id, target: 'es2022' });
            return { code: r.code, map: r.map };
          },
        },
      ],
      onwarn() {},
    });
    await bundle.write({ file: join(out, 'main.js'), format: 'es', sourcemap: true });
    await bundle.close();
    return join(out, 'main.js');
  },
  async rolldown(out) {
    const { build } = await import('rolldown');
    await build({
      input: ENTRY, platform: 'node', logLevel: 'silent',
      plugins: [(await plugin('rolldown'))(options())],
      output: { file: join(out, 'main.js'), format: 'es', sourcemap: true },
    });
    return join(out, 'main.js');
  },
  async esbuild(out) {
    const { build } = await import('esbuild');
    await build({
      entryPoints: [ENTRY], bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: true,
      outfile: join(out, 'main.js'), logLevel: 'silent',
      // ESM output: CommonJS modules of the bundle require() externals (here the runtime) through this.
      banner: { js: "import { createRequire as __ctiCreateRequire } from 'node:module'; const require = __ctiCreateRequire(import.meta.url);" },
      plugins: [(await plugin('esbuild'))(options())],
    });
    return join(out, 'main.js');
  },
  async webpack(out) {
    const webpack = (await import('webpack')).default;
    const compiler = webpack({
      mode: 'none', target: 'node20', context: FIXTURE, entry: ENTRY, devtool: 'source-map',
      output: { path: out, filename: 'main.js', module: true, chunkFormat: 'module', library: { type: 'module' } },
      experiments: { outputModule: true },
      module: { rules: [{ test: /\.ts$/, use: [TS_LOADER] }] },
      plugins: [(await plugin('webpack'))(options())],
      infrastructureLogging: { level: 'none' },
    });
    await compile(compiler);
    return join(out, 'main.js');
  },
  async rspack(out) {
    const { rspack } = await import('@rspack/core');
    const compiler = rspack({
      mode: 'none', target: 'node20', context: FIXTURE, entry: ENTRY, devtool: 'source-map',
      output: { path: out, filename: 'main.js', module: true, chunkFormat: 'module', library: { type: 'module' } },
      experiments: { outputModule: true },
      module: { rules: [{ test: /\.ts$/, loader: 'builtin:swc-loader', options: { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } } }] },
      plugins: [(await plugin('rspack'))(options())],
      infrastructureLogging: { level: 'none' },
    });
    await compile(compiler);
    return join(out, 'main.js');
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

/** The unbundled original, runnable on Node 20: typed.ts compiled to typed.js, nothing else touched. */
function original(): string {
  const dir = join(TMP, 'original');
  rmSync(dir, { recursive: true, force: true });
  cpSync(FIXTURE, dir, { recursive: true });
  const ts = tsTranspile();
  const typed = ts('typed.ts', readFileSync(join(dir, 'src/typed.ts'), 'utf8'))!;
  writeFileSync(join(dir, 'src/typed.js'), typed.code);
  const main = join(dir, 'src/main.js');
  writeFileSync(main, readFileSync(main, 'utf8').replace("'./typed.ts'", "'./typed.js'"));
  return main;
}

const BUNDLERS = Object.keys(builds);
const outcomes: Record<string, Outcome | Error> = {};
let reference: Outcome;

beforeAll(async () => {
  rmSync(TMP, { recursive: true, force: true });
  mkdirSync(TMP, { recursive: true });
  const runs: Promise<void>[] = [run(original(), null).then((o) => void (reference = o))];
  // One after the other: two cores, and builds share the cache directory.
  for (const name of BUNDLERS) {
    try {
      const file = await builds[name](join(TMP, name));
      runs.push(run(file, join(TMP, `${name}.jsonl`)).then((o) => void (outcomes[name] = o)));
    } catch (e) {
      outcomes[name] = e as Error;
    }
  }
  await Promise.all(runs);
});

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
];

describe('the unbundled original', () => {
  it('runs and shows its own lines', () => {
    expect(reference.stdout).toContain('counter 4 1');
    expect(reference.stdout).toContain(`caught exploded: bad shapes.js:${lineOf('src/shapes.js', 'throw new Error')}`);
    expect(reference.status).toBe(1);
  });
});

describe.each(BUNDLERS)('%s', (bundler) => {
  const outcome = () => {
    const o = outcomes[bundler];
    if (o instanceof Error) throw o;
    return o;
  };

  it('builds, and the bundle prints what the original prints and exits the same', () => {
    const o = outcome();
    expect(o.stdout).toBe(reference.stdout);
    expect(o.status).toBe(reference.status);
  });

  it('exports a span per call with the original function names, files and lines', () => {
    const spans = outcome().spans;
    for (const [name, file, text] of EXPECTED) {
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
    expect(o.stdout).toContain(`caught exploded: bad shapes.js:${lineOf('src/shapes.js', 'throw new Error')}`);
    // Uncaught, thrown in TypeScript: Node prints the mapped stack, column included.
    expect(o.stderr).toMatch(new RegExp(`src/typed\\.ts:${lineOf('src/typed.ts', 'throw new Error')}:9\\b`));
  });

  it("has a source map whose sources are the original files in their folders, with the original text", () => {
    outcome();
    const map = JSON.parse(readFileSync(join(TMP, bundler, 'main.js.map'), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
    for (const file of ['src/main.js', 'src/shapes.js', 'src/gen.js', 'src/typed.ts', 'src/legacy.cjs', 'src/tla.js']) {
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
