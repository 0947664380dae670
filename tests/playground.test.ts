/**
 * The playground (playground/vite-app, a small shop page) end to end in a real headless Chromium:
 * built from its own directory with its own vite.config.ts, once instrumented (the build's
 * `endpoint` = a local OTLP/HTTP receiver) and once with CTI_DISABLE=1, both served by `vite
 * preview`, and clicked through the same way. The pages show the same texts; the spans carry the
 * original function names, files and lines, the click's call tree (across `await`), the loop and
 * branch events, and the failed checkout's exception.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { build, preview, type InlineConfig } from 'vite';
import { REPO } from './helpers/run-both.js';
import { browserSession, spansFor } from './browser/harness.js';
import type { SpanData } from '../src/runtime/span-data.js';

const APP = join(REPO, 'playground/vite-app');
const FILES = ['src/main.ts', 'src/cart.ts', 'src/checkout.ts', 'src/catalog.ts'];
const SOURCES = new Map(FILES.map((f) => [f, readFileSync(join(APP, f), 'utf8').split('\n')]));

/** Where each function is declared in the original sources: [file, text on the declaring line]. */
const DECLARED: Record<string, [string, string]> = {
  onAddClick: ['src/main.ts', 'function onAddClick('],
  onRemoveClick: ['src/main.ts', 'function onRemoveClick('],
  onCheckoutClick: ['src/main.ts', 'function onCheckoutClick('],
  onLoadClick: ['src/main.ts', 'async function onLoadClick('],
  render: ['src/main.ts', 'function render('],
  'Cart.add': ['src/cart.ts', '  add(name: string'],
  'Cart.remove': ['src/cart.ts', '  remove(name: string'],
  'Cart.count': ['src/cart.ts', '  count(): number'],
  'Cart.total': ['src/cart.ts', '  total(): number'],
  'Cart.lines': ['src/cart.ts', '  lines(): Line[]'],
  'Cart.clear': ['src/cart.ts', '  clear(): void'],
  checkout: ['src/checkout.ts', 'export function checkout('],
  formatPrice: ['src/checkout.ts', 'export function formatPrice('],
  loadCatalog: ['src/catalog.ts', 'export async function loadCatalog('],
  fetchProducts: ['src/catalog.ts', 'async function fetchProducts('],
  normalize: ['src/catalog.ts', 'function normalize('],
  delay: ['src/catalog.ts', 'function delay('],
};

function lineOf(file: string, text: string): number {
  const lines = SOURCES.get(file)!;
  const found = lines.filter((l) => l.includes(text));
  expect(found, `${file}: ${text}`).toHaveLength(1);
  return lines.indexOf(found[0]!) + 1;
}

const session = browserSession('cti-playground-');

/** The playground's own config file, read with the given environment (it reads CTI_DISABLE and CTI_ENDPOINT). */
async function withEnv<T>(env: Record<string, string | undefined>, run: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  };
  set(env);
  try {
    return await run();
  } finally {
    set(saved);
  }
}

const TEXT_IDS = ['ready', 'catalog', 'cart', 'total', 'status'];
type Texts = Record<string, string | null>;

async function texts(page: Page): Promise<Texts> {
  return Object.fromEntries(await Promise.all(TEXT_IDS.map(async (id) => [id, await page.textContent(`#${id}`)] as const)));
}

interface Visit { steps: Texts[]; errors: string[]; lastClickAt: number }

/** The interactions, the page's texts after each, then leaving the page (pagehide) at once. */
async function visit(url: string, beforeLastClick?: () => Promise<void>): Promise<Visit> {
  const page = await session.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
  page.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`${r.status()} ${r.url()}`); });
  await page.goto(url);
  await page.waitForSelector('#ready:has-text("ready")');
  const steps: Texts[] = [await texts(page)];
  await page.click('#checkout');
  steps.push(await texts(page));
  await page.click('#load');
  await page.waitForSelector('#catalog:has-text("$")');
  steps.push(await texts(page));
  for (const id of ['add-apple', 'add-apple', 'add-apple', 'add-pear', 'add-melon', 'remove-pear']) await page.click(`#${id}`);
  steps.push(await texts(page));
  await beforeLastClick?.();
  const lastClickAt = Date.now();
  await page.click('#checkout');
  steps.push(await texts(page));
  // Within the runtime's batch delay: the last click's spans leave on pagehide.
  await page.goto('about:blank');
  await page.close();
  return { steps, errors, lastClickAt };
}

const EXPECTED: Texts[] = [
  { ready: 'ready', catalog: 'catalog not loaded', cart: 'cart is empty', total: 'total $0.00', status: '' },
  { ready: 'ready', catalog: 'catalog not loaded', cart: 'cart is empty', total: 'total $0.00', status: 'checkout failed: cart is empty' },
  { ready: 'ready', catalog: 'apple $0.50, pear $0.75, melon $3.00', cart: 'cart is empty', total: 'total $0.00', status: 'checkout failed: cart is empty' },
  // 3 apples: 10% off that line (135) + a melon (300).
  { ready: 'ready', catalog: 'apple $0.50, pear $0.75, melon $3.00', cart: '3 × apple, 1 × melon', total: 'total $4.35', status: 'checkout failed: cart is empty' },
  { ready: 'ready', catalog: 'apple $0.50, pear $0.75, melon $3.00', cart: 'cart is empty', total: 'total $0.00', status: 'paid $4.35 for 4 items' },
];

describe('playground/vite-app in Chromium', () => {
  it('vite build + preview: same page as uninstrumented, spans with original names, lines, call trees, async parents, the error', async () => {
    const config = (outDir: string): InlineConfig => ({ root: APP, configFile: join(APP, 'vite.config.ts'), logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    // A 3 s batch delay (OTEL_BSP_SCHEDULE_DELAY, read by the plugin at build time): spans that
    // arrive sooner than that after the last click can only have left on pagehide.
    await withEnv({ CTI_DISABLE: undefined, CTI_ENDPOINT: session.receiver.url, OTEL_BSP_SCHEDULE_DELAY: '3000' }, () => build(config(join(session.work, 'out-cti'))));
    await withEnv({ CTI_DISABLE: '1', CTI_ENDPOINT: undefined }, () => build(config(join(session.work, 'out-plain'))));
    const servers = await withEnv({ CTI_DISABLE: '1', CTI_ENDPOINT: undefined }, () => Promise.all(['out-plain', 'out-cti'].map((dir) =>
      preview({ ...config(join(session.work, dir)), preview: { port: 0, host: '127.0.0.1' } }))));
    try {
      const [plainUrl, ctiUrl] = servers.map((s) => s.resolvedUrls!.local[0]!);
      const plain = await visit(plainUrl!);
      expect(plain.errors).toEqual([]);
      expect(plain.steps).toEqual(EXPECTED);
      expect(session.receiver.received).toEqual([]);
      const since = Date.now();
      const name = (s: SpanData) => s.attributes['code.function.name'] as string;
      const HANDLERS = ['onAddClick', 'onCheckoutClick', 'onLoadClick', 'onRemoveClick'];
      const clicks = () => session.receiver.received.filter((b) => b.at >= since).flatMap((b) => b.spans).filter((s) => HANDLERS.includes(name(s))).length;
      const clicksArrived = async (n: number) => {
        for (const deadline = Date.now() + 10_000; clicks() < n && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
      };
      // Before the last click, the earlier clicks' spans have left (the runtime's 3 s batch timer):
      // the last click's spans then go on pagehide alone. (A keepalive body still in flight at
      // pagehide counts against the browser's 64 KB keepalive quota: what does not fit is dropped.)
      const instrumented = await visit(ctiUrl!, () => clicksArrived(8));
      expect(instrumented.errors).toEqual([]);
      expect(instrumented.steps).toEqual(plain.steps);

      // Every name, then every click's root span (the last body may still be on its way).
      await spansFor(session.receiver.received, since, Object.keys(DECLARED));
      await clicksArrived(9);
      const bodies = session.receiver.received.filter((b) => b.at >= since);
      const spans = bodies.flatMap((b) => b.spans);
      for (const n of Object.keys(DECLARED)) expect(spans.some((s) => name(s) === n), n).toBe(true);
      // Original files and lines.
      for (const s of spans) {
        const where = DECLARED[name(s)];
        if (!where) continue;
        expect(s.attributes['code.file.path'], name(s)).toBe(where[0]);
        expect(s.attributes['code.line.number'], name(s)).toBe(lineOf(...where));
        expect(s.resource['service.name']).toBe('cti-playground');
        expect(s.resource['telemetry.sdk.language']).toBe('webjs');
      }
      const byId = new Map(spans.map((s) => [s.span_id, s]));
      const parentName = (s: SpanData) => (s.parent_span_id ? name(byId.get(s.parent_span_id)!) : null);
      // By start time; the page's clock ticks coarsely (Chromium: 100 µs), so siblings may start on the
      // same tick: then the export order (the order they ended in) decides (a stable sort).
      // Chromium's clock has 100 µs steps: two short sibling calls can start on the same tick, so ties
      // go to the one that ended first (the earlier of two sequential calls).
      const at = (s: SpanData, k: 'start_time_unix_nano' | 'end_time_unix_nano') => BigInt(s[k]);
      const byStart = (a: SpanData, b: SpanData) => {
        const d = at(a, 'start_time_unix_nano') - at(b, 'start_time_unix_nano') || at(a, 'end_time_unix_nano') - at(b, 'end_time_unix_nano');
        return d < 0n ? -1 : d > 0n ? 1 : 0;
      };
      const childrenOf = (p: SpanData) => spans.filter((s) => s.parent_span_id === p.span_id).sort(byStart);
      // Calls made one after the other, in this order: each starts no earlier than the one before ended
      // (checked on the clock, since on one 100 µs tick the order within a batch is not observable).
      const calledInOrder = (parent: SpanData, names: string[]) => {
        const kids = childrenOf(parent).filter((s) => name(s) !== '$');
        expect(kids.map(name).sort()).toEqual([...names].sort());
        const spanOf = (n: string) => kids.find((s) => name(s) === n)!;
        for (let i = 1; i < names.length; i++) {
          expect(at(spanOf(names[i]!), 'start_time_unix_nano') >= at(spanOf(names[i - 1]!), 'end_time_unix_nano'), `${names[i - 1]} before ${names[i]}`).toBe(true);
        }
      };
      const all = (n: string) => spans.filter((s) => name(s) === n).sort(byStart);
      const inTrace = (root: SpanData) => spans.filter((s) => s.trace_id === root.trace_id);

      // Each click is one trace rooted at its handler.
      const roots = [...all('onCheckoutClick'), ...all('onLoadClick'), ...all('onAddClick'), ...all('onRemoveClick')];
      expect(roots.map(name).sort()).toEqual(['onAddClick', 'onAddClick', 'onAddClick', 'onAddClick', 'onAddClick', 'onCheckoutClick', 'onCheckoutClick', 'onLoadClick', 'onRemoveClick']);
      for (const root of roots) expect(root.parent_span_id, name(root)).toBeNull();
      expect(new Set(roots.map((r) => r.trace_id)).size).toBe(roots.length);
      for (const s of spans) if (s.parent_span_id) expect(byId.get(s.parent_span_id)?.trace_id, name(s)).toBe(s.trace_id);

      // The empty cart's checkout: an ERROR span with its exception, caught by the handler.
      const [failedClick, paidClick] = all('onCheckoutClick');
      const failed = childrenOf(failedClick!).find((s) => name(s) === 'checkout')!;
      expect(failed.status.code).toBe('ERROR');
      const exception = failed.events.find((e) => e.name === 'exception');
      // The name the program set, not the constructor's (the minifier shortened that one).
      expect(exception?.attributes['exception.type']).toBe('EmptyCartError');
      expect(exception?.attributes['exception.stacktrace']).toMatch(/^EmptyCartError: cart is empty/);
      expect(exception?.attributes['exception.message']).toBe('cart is empty');
      expect(failedClick!.status.code).toBe('OK');
      expect(childrenOf(failed).map(name)).toContain('Cart.count');
      expect(childrenOf(failedClick!).map(name)).toContain('render');

      // The paid checkout: checkout → Cart.count, Cart.total (a loop with a bulk-discount branch), Cart.clear.
      const paid = childrenOf(paidClick!).find((s) => name(s) === 'checkout')!;
      expect(paid.status.code).toBe('OK');
      calledInOrder(paid, ['Cart.count', 'Cart.total', 'Cart.clear']);
      const total = childrenOf(paid).find((s) => name(s) === 'Cart.total')!;
      expect(total.attributes['cti.return']).toBe('435');
      const loop = total.events.find((e) => e.name === 'cti.loop');
      expect(loop?.attributes['cti.loop.kind']).toBe('for-of');
      expect(loop?.attributes['cti.loop.iterations']).toBe(2);
      expect(total.events.filter((e) => e.name === 'cti.branch').map((e) => e.attributes['cti.branch.kind'])).toEqual(['if']);
      const render = childrenOf(paidClick!).find((s) => name(s) === 'render')!;
      expect(childrenOf(render).map(name)).toEqual(expect.arrayContaining(['Cart.lines', 'Cart.total', 'formatPrice']));

      // The async click: onLoadClick → loadCatalog → fetchProducts → delay, and normalize called
      // by loadCatalog after its `await` resumed, still its child, in the same trace.
      const [loadClick] = all('onLoadClick');
      const load = childrenOf(loadClick!).find((s) => name(s) === 'loadCatalog')!;
      expect(childrenOf(load).map(name)).toEqual(['fetchProducts', 'normalize']);
      const [fetchProducts, normalize] = childrenOf(load);
      expect(childrenOf(fetchProducts!).map(name)).toEqual(['delay']);
      // normalize starts after the simulated network delay (20 ms) has passed.
      expect(Number(BigInt(normalize!.start_time_unix_nano) - BigInt(loadClick!.start_time_unix_nano)) / 1e6).toBeGreaterThanOrEqual(15);
      expect(normalize!.events.find((e) => e.name === 'cti.loop')?.attributes['cti.loop.iterations']).toBe(4);
      expect(inTrace(loadClick!).map(name)).toEqual(expect.arrayContaining(['onLoadClick', 'loadCatalog', 'fetchProducts', 'delay', 'normalize', 'formatPrice']));

      // Each add click: onAddClick → Cart.add (→ Cart.count), render.
      for (const click of all('onAddClick')) {
        calledInOrder(click, ['Cart.add', 'render']);
        expect(childrenOf(childrenOf(click).find((s) => name(s) === 'Cart.add')!).map(name)).toEqual(['Cart.count']);
      }
      expect(all('Cart.add').map((s) => s.attributes['cti.return'])).toEqual(['1', '2', '3', '4', '5']);
      const [removeClick] = all('onRemoveClick');
      calledInOrder(removeClick!, ['Cart.remove', 'render']);
      expect(parentName(all('Cart.remove')[0]!)).toBe('onRemoveClick');

      // The last click's spans left when the page was, not by the runtime's 3 s batch timer.
      const last = bodies.filter((b) => b.spans.some((s) => s.span_id === paid.span_id));
      expect(last).toHaveLength(1);
      expect(last[0]!.at - instrumented.lastClickAt).toBeLessThan(2900);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  }, 60_000);
});
