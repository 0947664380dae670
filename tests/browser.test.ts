/**
 * The browser side end to end in a real headless Chromium (Debian's, driven by playwright-core):
 * a small Vite app (tests/browser/fixtures/app) built with the plugin and served by `vite
 * preview`, and the same app on Vite's dev server with the same-origin relay. Spans reach a local
 * OTLP/HTTP receiver with the original function names, file and lines, parent links, and the
 * exception; the page behaves as the uninstrumented build does.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { build, createServer, preview } from 'vite';
import { REPO } from './helpers/run-both.js';
import { browserSession, spansFor as spansAt } from './browser/harness.js';
import { checkFixtureSpans, FIXTURE_NAMES as NAMES, visitFixture } from './browser/fixture-page.js';
import type { SpanData } from '../src/runtime/span-data.js';

const FIXTURE = join(REPO, 'tests/browser/fixtures/app');
const SOURCE = readFileSync(join(FIXTURE, 'src/main.ts'), 'utf8').split('\n');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const cti = (await import(join(REPO, 'dist/plugins/vite.js'))).default as (options?: Record<string, unknown>) => any;

const session = browserSession('cti-browser-');

beforeAll(() => {
  // The app as a user has it: the package installed (copied, not linked: Vite treats a linked
  // package as source and never pre-bundles it) in its node_modules.
  cpSync(FIXTURE, join(session.work, 'app'), { recursive: true });
  const installed = join(session.work, 'app/node_modules/code-telemetry-injector');
  mkdirSync(installed, { recursive: true });
  cpSync(join(REPO, 'package.json'), join(installed, 'package.json'));
  cpSync(join(REPO, 'dist/runtime'), join(installed, 'dist/runtime'), { recursive: true });
});

const visit = (url: string, settleMs = 0) => visitFixture(session.context, url, settleMs);
const spansFor = (since: number, names: string[]) => spansAt(session.receiver.received, since, names);
const checkSpans = (spans: SpanData[]) => checkFixtureSpans(spans, SOURCE);

describe('browser runtime in Chromium', () => {
  it('vite build + preview: spans go straight to the receiver, the page behaves as without instrumentation', async () => {
    const root = join(session.work, 'app');
    const base = { root, configFile: false as const, logLevel: 'silent' as const };
    const plugin = cti({ endpoint: session.receiver.url, serviceName: 'cti-fixture', cacheDir: false });
    await build({ ...base, plugins: [plugin], build: { outDir: join(session.work, 'out-cti'), sourcemap: true } });
    await build({ ...base, build: { outDir: join(session.work, 'out-plain') } });
    const assets = join(session.work, 'out-cti/assets');
    const bundle = readFileSync(join(assets, readdirSync(assets).find((f) => f.endsWith('.js'))!), 'utf8');
    // The browser runtime, bundled: no Node built-in imports, no process hooks.
    expect(bundle.includes('globalThis.crypto.getRandomValues')).toBe(true);
    expect(/from\s*["']node:|process\.on\(/.test(bundle)).toBe(false);

    const servers = await Promise.all(['out-plain', 'out-cti'].map((dir) =>
      preview({ ...base, build: { outDir: join(session.work, dir) }, preview: { port: 0, host: '127.0.0.1' } })));
    try {
      const [plainUrl, ctiUrl] = servers.map((s) => s.resolvedUrls!.local[0]!);
      const plain = await visit(plainUrl);
      const since = Date.now();
      const instrumented = await visit(ctiUrl);
      expect(instrumented.errors).toEqual([]);
      expect({ out: instrumented.out, async: instrumented.async }).toEqual({ out: plain.out, async: plain.async });
      expect(instrumented.out).toBe('odd 1 caught too big 1');
      const { spans, bodies } = await spansFor(since, NAMES);
      checkSpans(spans);
      // Straight from the page (a cross-origin request carries its Origin)...
      expect(bodies.every((b) => b.origin === new URL(ctiUrl).origin)).toBe(true);
      // ...and sent when the page was left, not by the runtime's 1 s batch timer.
      expect(Math.max(...bodies.map((b) => b.at)) - instrumented.clickedAt).toBeLessThan(950);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  }, 60_000);

  it('vite dev: pre-bundled runtime, no reload, spans through the same-origin relay', async () => {
    const root = join(session.work, 'app');
    const server = await createServer({
      root, configFile: false, logLevel: 'silent',
      plugins: [cti({ endpoint: session.receiver.url, serviceName: 'cti-fixture', cacheDir: false })],
      server: { port: 0, host: '127.0.0.1' },
      // Vite would otherwise hide a late-discovered dependency by holding the first page load
      // until its crawl ends; without the hold, a runtime found only after our transform (the
      // dependency scanner never sees it) would mean "optimized dependencies changed, reloading".
      optimizeDeps: { holdUntilCrawlEnd: false },
    });
    await server.listen();
    try {
      const url = server.resolvedUrls!.local[0]!;
      const since = Date.now();
      // Long enough for a "new dependencies optimized, reloading" to show.
      const result = await visit(url, 1500);
      expect(result.requests.some((u) => u.includes('/.vite/deps/code-telemetry-injector_runtime.js'))).toBe(true);
      expect(result.errors).toEqual([]);
      expect(result.loads).toBe(1);
      expect(result.out).toBe('odd 1 caught too big 1');
      const { spans, bodies } = await spansFor(since, NAMES);
      checkSpans(spans);
      // Forwarded by the dev server (Node's fetch sends no Origin), sent by sendBeacon on pagehide.
      expect(bodies.every((b) => b.origin === undefined)).toBe(true);
      expect(Math.max(...bodies.map((b) => b.at)) - result.clickedAt).toBeLessThan(950);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('vite dev: a hot update of an instrumented module applies without a reload, and its spans carry the new lines', async () => {
    // The HMR fixture next to the app, sharing its installed package.
    const root = join(session.work, 'hmr');
    cpSync(join(REPO, 'tests/browser/fixtures/hmr'), root, { recursive: true });
    cpSync(join(session.work, 'app/node_modules'), join(root, 'node_modules'), { recursive: true });
    const server = await createServer({
      root, configFile: false, logLevel: 'silent',
      plugins: [cti({ endpoint: session.receiver.url, serviceName: 'cti-fixture', cacheDir: false })],
      server: { port: 0, host: '127.0.0.1' },
    });
    await server.listen();
    const page = await session.context.newPage();
    try {
      const errors: string[] = [];
      let loads = 0;
      page.on('load', () => loads++);
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(server.resolvedUrls!.local[0]!);
      await page.click('#btn');
      expect(await page.textContent('#out')).toBe('hello 1 v1');
      // Only a reload would lose this.
      await page.evaluate(() => { (globalThis as { marker?: number }).marker = 42; });

      const file = join(root, 'src/greet.ts');
      writeFileSync(file, `// edited: two lines added above,\n// so greet moves to line 3\n${readFileSync(file, 'utf8').replace('v1', 'v2')}`);
      await page.waitForFunction(() => {
        (document.querySelector('#btn') as HTMLButtonElement).click();
        return document.querySelector('#out')!.textContent!.endsWith('v2');
      }, undefined, { timeout: 15_000, polling: 200 });
      const since = Date.now();
      await page.click('#btn');
      expect(await page.evaluate(() => (globalThis as { marker?: number }).marker)).toBe(42);
      expect(loads).toBe(1);
      expect(errors).toEqual([]);
      await page.goto('about:blank');

      const { spans } = await spansFor(since, ['greet', 'onClick']);
      // Spans of the polling clicks may arrive after `since` too: only the last click's.
      const greet = spans.filter((s) => s.attributes['code.function.name'] === 'greet' && BigInt(s.start_time_unix_nano) >= BigInt(since) * 1_000_000n);
      expect(greet.length).toBeGreaterThan(0);
      for (const s of greet) {
        expect(s.attributes['code.file.path']).toBe('src/greet.ts');
        expect(s.attributes['code.line.number']).toBe(3);
        expect(s.attributes['cti.return']).toMatch(/^"hello \d+ v2"$/);
        const parent = spans.find((p) => p.span_id === s.parent_span_id);
        expect(parent?.attributes['code.function.name']).toBe('onClick');
      }
    } finally {
      await page.close();
      await server.close();
    }
  }, 60_000);

  it('a missing receiver changes nothing in the page (build posting directly, dev through the relay)', async () => {
    const root = join(session.work, 'app');
    // A port nobody listens on.
    const dead = createHttpServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/v1/traces`;
    await new Promise((r) => dead.close(r));
    const base = { root, configFile: false as const, logLevel: 'silent' as const };
    const plugins = [cti({ endpoint: deadUrl, cacheDir: false })];
    await build({ ...base, plugins, build: { outDir: join(session.work, 'out-dead') } });
    const server = await preview({ ...base, build: { outDir: join(session.work, 'out-dead') }, preview: { port: 0, host: '127.0.0.1' } });
    const dev = await createServer({ ...base, plugins, server: { port: 0, host: '127.0.0.1' } });
    await dev.listen();
    try {
      for (const url of [server.resolvedUrls!.local[0]!, dev.resolvedUrls!.local[0]!]) {
        const page = await session.context.newPage();
        const thrown: string[] = [];
        const relayed: number[] = [];
        page.on('pageerror', (e) => thrown.push(String(e)));
        page.on('response', (r) => { if (r.url().includes('/__cti/v1/traces')) relayed.push(r.status()); });
        await page.goto(url);
        await page.waitForSelector('#ready:has-text("ready")');
        await page.click('#btn');
        await page.waitForSelector('#async:has-text("async")');
        expect(await page.textContent('#out')).toBe('odd 1 caught too big 1');
        // Past the 1 s batch timer: the fetch to the dead receiver has failed by now.
        await page.waitForTimeout(1300);
        await page.click('#btn');
        expect(await page.textContent('#out')).toBe('even 2 caught too big 2');
        await page.goto('about:blank');
        await page.close();
        expect(thrown).toEqual([]);
        // The dev relay answers 204 even though the receiver is down.
        if (url.startsWith(dev.resolvedUrls!.local[0]!)) expect(relayed.length > 0 && relayed.every((c) => c === 204)).toBe(true);
      }
    } finally {
      await server.close();
      await dev.close();
    }
  }, 60_000);
});
