/**
 * Browser targets of Rollup, Rolldown, esbuild, webpack and Rspack: the browser fixture app
 * (tests/browser/fixtures/app) bundled by each with the plugin (target detected from the
 * bundler's own platform/target option; Rollup, which has none, told `target: 'browser'`), served
 * as static files and clicked in Chromium. The browser runtime is bundled and configured by the
 * plugin's virtual module; spans reach the receiver cross-origin; the bundle's map leads the
 * throw back to the original line.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';
import { REPO } from './helpers/run-both.js';
import { browserSession, spansFor } from './browser/harness.js';
import { checkFixtureSpans, FIXTURE_NAMES, visitFixture } from './browser/fixture-page.js';

const FIXTURE = join(REPO, 'tests/browser/fixtures/app');
const ENTRY = join(FIXTURE, 'src/main.ts');
const SOURCE = readFileSync(ENTRY, 'utf8').split('\n');
const TS_LOADER = join(REPO, 'tests/plugins/fixtures/esbuild-ts-loader.cjs');
const plugin = async (name: string) => (await import(join(REPO, `dist/plugins/${name}.js`))).default;

interface Bundle { file: string; module: boolean }
type Build = (out: string, options: Record<string, unknown>) => Promise<Bundle>;

function compile(compiler: { run(cb: (err: Error | null, stats?: { hasErrors(): boolean; toString(o?: unknown): string }) => void): void; close(cb: () => void): void }): Promise<void> {
  return new Promise((done, fail) => compiler.run((err, stats) => compiler.close(() => {
    if (err) fail(err);
    else if (stats?.hasErrors()) fail(new Error(stats.toString({ all: false, errors: true })));
    else done();
  })));
}

const builds: Record<string, Build> = {
  async rollup(out, options) {
    const { rollup } = await import('rollup');
    const { transform } = await import('esbuild');
    const bundle = await rollup({
      input: ENTRY,
      plugins: [(await plugin('rollup'))({ ...options, target: 'browser' }), {
        name: 'ts',
        async transform(code: string, id: string) {
          if (!id.endsWith('.ts')) return null;
          const r = await transform(code, { loader: 'ts', sourcemap: 'external', sourcefile: id, target: 'es2022' });
          return { code: r.code, map: r.map };
        },
      }],
    });
    await bundle.write({ file: join(out, 'bundle.js'), format: 'es', sourcemap: true });
    await bundle.close();
    return { file: 'bundle.js', module: true };
  },
  async rolldown(out, options) {
    const { build } = await import('rolldown');
    await build({ input: ENTRY, logLevel: 'silent', plugins: [(await plugin('rolldown'))(options)], output: { file: join(out, 'bundle.js'), format: 'es', sourcemap: true, minify: true } });
    return { file: 'bundle.js', module: true };
  },
  async esbuild(out, options) {
    const { build } = await import('esbuild');
    await build({ entryPoints: [ENTRY], bundle: true, format: 'iife', minify: true, sourcemap: true, outfile: join(out, 'bundle.js'), logLevel: 'silent', plugins: [(await plugin('esbuild'))(options)] });
    return { file: 'bundle.js', module: false };
  },
  async webpack(out, options) {
    const webpack = (await import('webpack')).default;
    await compile(webpack({
      mode: 'production', context: FIXTURE, entry: ENTRY, devtool: 'source-map', output: { path: out, filename: 'bundle.js' },
      module: { rules: [{ test: /\.ts$/, use: [TS_LOADER] }] }, plugins: [(await plugin('webpack'))(options)], infrastructureLogging: { level: 'none' },
    }) as never);
    return { file: 'bundle.js', module: false };
  },
  async rspack(out, options) {
    const { rspack } = await import('@rspack/core');
    await compile(rspack({
      mode: 'production', context: FIXTURE, entry: ENTRY, devtool: 'source-map', output: { path: out, filename: 'bundle.js' },
      module: { rules: [{ test: /\.ts$/, loader: 'builtin:swc-loader', options: { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } } }] },
      plugins: [(await plugin('rspack'))(options)], infrastructureLogging: { level: 'none' },
    }) as never);
    return { file: 'bundle.js', module: false };
  },
};

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };

/** A static file server for one directory. */
async function serve(dir: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = join(dir, path === '/' ? 'index.html' : path.slice(1));
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch {
      return void res.writeHead(404).end();
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

function page(bundle: Bundle): string {
  // The fixture's own page, with the bundle in place of Vite's module entry.
  const html = readFileSync(join(FIXTURE, 'index.html'), 'utf8');
  return html.replace(/<script type="module" src="\/src\/main\.ts"><\/script>/, `<script ${bundle.module ? 'type="module" ' : ''}src="/${bundle.file}"></script>`);
}

const session = browserSession('cti-bundlers-');

describe.each(Object.keys(builds))('%s, browser target', (bundler) => {
  it('bundles the browser runtime, configured by the plugin; a click sends its span tree; the map leads to the original line', async () => {
    const out = join(session.work, bundler);
    mkdirSync(out, { recursive: true });
    const bundle = await builds[bundler](out, { root: FIXTURE, cacheDir: false, endpoint: session.receiver.url, serviceName: 'cti-bundled' });
    writeFileSync(join(out, 'index.html'), page(bundle));
    const code = readFileSync(join(out, bundle.file), 'utf8');
    // The browser runtime, no import of the package left, no Node built-ins.
    expect(code).not.toMatch(/code-telemetry-injector\/runtime["']|from\s*["']node:|require\(["']node:/);
    expect(code).toContain('getRandomValues');
    expect(code).toContain(session.receiver.url);

    // Where the bundle throws RangeError maps back to the `throw` line of src/main.ts.
    const map = new TraceMap(readFileSync(join(out, `${bundle.file}.map`), 'utf8'));
    const at = code.split('\n').flatMap((text, line) => (text.includes('too big ') ? [{ line: line + 1, column: text.indexOf('too big ') }] : []))[0]!;
    const original = originalPositionFor(map, at);
    expect(original.source).toMatch(/src\/main\.ts$/);
    expect(original.line).toBe(SOURCE.findIndex((l) => l.includes('throw new RangeError')) + 1);

    const { url, server } = await serve(out);
    try {
      const since = Date.now();
      const visit = await visitFixture(session.context, url);
      expect(visit.errors).toEqual([]);
      expect({ out: visit.out, async: visit.async }).toEqual({ out: 'odd 1 caught too big 1', async: 'async 2' });
      const { spans, bodies } = await spansFor(session.receiver.received, since, FIXTURE_NAMES);
      checkFixtureSpans(spans, SOURCE, 'cti-bundled');
      expect(bodies.every((b) => b.origin === new URL(url).origin)).toBe(true);
    } finally {
      // The browser keeps its connections open: close them, or close() waits for their timeout.
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }, 60_000);
});
