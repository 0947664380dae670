/**
 * `cti serve` end to end: the demo (the README's main command) serving its viewer, driven in
 * Chromium (the demo trace, its waterfall, a span's details and source view, live updates from the
 * Vite playground it serves; screenshots in tests/.artifacts/), and a receiver stopped while an
 * instrumented program runs (the program's output and exit code unchanged, the drop reported).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { instrument } from '../src/core/index.js';
import { startServer } from '../src/server/serve.js';
import { TraceStore } from '../src/server/store.js';
import { launchChromium } from './browser/harness.js';
import { REPO, RUNTIME } from './helpers/run-both.js';

const ARTIFACTS = join(REPO, 'tests/.artifacts');
const PRICING = readFileSync(join(REPO, 'playground/node-sample/src/pricing.js'), 'utf8').split('\n');
const lineOf = (text: string) => PRICING.findIndex((l) => l.includes(text)) + 1;

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_') || k.startsWith('CTI_')) delete env[k];
  return env;
}

describe('the demo and its viewer in Chromium', () => {
  let work: string;
  let demo: ChildProcess;
  let out = '';
  let context: BrowserContext;
  let viewer: string;
  let traceId: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    work = mkdtempSync(join(tmpdir(), 'cti-viewer-'));
    demo = spawn(process.execPath, [join(REPO, 'bin/cti.js'), 'demo', '--port', '0'], { cwd: work, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    demo.stdout!.on('data', (d) => (out += d));
    demo.stderr!.on('data', (d) => (out += d));
    for (const deadline = Date.now() + 90_000; !out.includes('Serving until Ctrl-C.') && Date.now() < deadline && demo.exitCode === null;) await new Promise((r) => setTimeout(r, 100));
    const m = /Viewer: (http:\/\/\S+)\/ {2}\(trace ([0-9a-f]{32})/.exec(out);
    if (!m) throw new Error(`the demo did not start serving:\n${out}`);
    [, viewer, traceId] = m as unknown as [string, string, string];
    context = await launchChromium(join(work, 'profile'));
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    if (demo && demo.exitCode === null) demo.kill('SIGKILL');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function openSpan(page: Page, name: string): Promise<void> {
    await page.click(`.span-row:has(.label:text-is("${name}")) >> nth=0`);
    await page.waitForSelector(`#span-name:text-is("${name}")`);
    await page.waitForSelector('#source .line');
  }

  it('shows the demo trace: list, waterfall, span details and the source with branches and values', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${viewer}/`);
    const row = page.locator(`#traces tbody tr[data-trace-id="${traceId}"]`);
    await row.waitFor();
    expect(await row.locator('td').first().textContent()).toBe('main');
    await row.click();
    await page.waitForSelector('.span-row');
    const { spans } = await (await fetch(`${viewer}/api/traces/${traceId}`)).json() as { spans: unknown[] };
    expect(await page.locator('.span-row').count()).toBe(spans.length);
    const labels = (await page.locator('.span-row .label').allTextContents()).map((l) => l.trim());
    expect(labels.slice(0, 3)).toEqual(['main', 'checkout', 'Inventory.reserve']);
    expect(labels).toContain('priceOrder');
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-waterfall.png'), fullPage: true });

    // subtotal: arguments, return value, the loop's values at their lines, its own line marked.
    await openSpan(page, 'subtotal');
    expect(await page.textContent('#span-where')).toMatch(new RegExp(`^src/pricing\\.js:${lineOf('export function subtotal')} · OK`));
    expect(await page.textContent('#span-attributes tr[data-key="cti.arg.lines"] td:nth-child(2)')).toBe("[ { sku: 'apple', qty: 4 }, { sku: 'pear', qty: 2 } ]");
    expect(await page.textContent('#span-attributes tr[data-key="cti.return"] td:nth-child(2)')).toBe('3.5');
    expect(await page.getAttribute('#source .line.function', 'data-line')).toBe(String(lineOf('export function subtotal')));
    expect(await page.textContent(`#source .line[data-line="${lineOf('let total = 0')}"] .inline-value`)).toBe('total = 0');
    expect(await page.textContent(`#source .line[data-line="${lineOf('total += PRICES')}"] .inline-value`)).toBe('total = 2; total = 3.5');
    expect(await page.locator('#span-events li').allTextContents()).toContain(`line ${lineOf('for (const line of lines)')}: for-of loop, 2 iterations`);
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-source.png'), fullPage: true });

    // priceOrder: the coupon's ternary branch taken, highlighted at its line.
    await openSpan(page, 'priceOrder');
    const taken = await page.locator('#source .line.taken').evaluateAll((ls) => ls.map((l) => Number(l.getAttribute('data-line'))));
    expect(taken).toEqual([lineOf("order.coupon === 'FRUIT10'")]);

    // The failed checkout: ERROR with the exception and its stack.
    await page.click('.span-row.error:has(.label:text-is("checkout"))');
    await page.waitForSelector('#span-name:text-is("checkout")');
    expect(await page.textContent('#span-where')).toMatch(/ · ERROR/);
    expect(await page.textContent('#span-exception')).toMatch(/^OutOfStock: melon: wanted 2, 1 left\n\s+at /);
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-error.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('updates the open list live when the playground it serves sends spans', async () => {
    const list = await context.newPage();
    await list.goto(`${viewer}/`);
    await list.waitForSelector('#live.on');
    const before = await list.locator('#traces tbody tr').count();
    const app = await context.newPage();
    await app.goto(`${viewer}/playground/`);
    await app.waitForSelector('#ready:has-text("ready")');
    await app.click('#checkout');
    await app.waitForSelector('#status:has-text("empty")');
    await app.goto('about:blank'); // pagehide: the spans leave now
    await list.waitForSelector('#traces tbody tr:has(td:text-is("cti-playground"))', { timeout: 15_000 });
    expect(await list.locator('#traces tbody tr').count()).toBeGreaterThan(before);
    await list.screenshot({ path: join(ARTIFACTS, 'viewer-live.png'), fullPage: true });
    await list.close();
  }, 60_000);

  it.each([
    ['cti-python-sample', 'checkout', /^def checkout\(/],
    ['cti-go-sample', 'main.checkout', /^func checkout\(/],
  ])('holds the trace of %s too, with its sources under its own root', async (service, name, definition) => {
    const { traces } = await (await fetch(`${viewer}/api/traces?service=${service}`)).json() as { traces: Array<{ trace_id: string; error_count: number }> };
    expect(traces).toEqual([expect.objectContaining({ error_count: 1 })]);
    const { spans } = await (await fetch(`${viewer}/api/traces/${traces[0]!.trace_id}`)).json() as { spans: Array<{ name: string; attributes: Record<string, string | number> }> };
    const span = spans.find((s) => s.name === name)!;
    expect(span, `${name} in ${spans.map((s) => s.name).join(', ')}`).toBeDefined();
    const source = await fetch(`${viewer}/api/source?service=${service}&path=${encodeURIComponent(String(span.attributes['code.file.path']))}`);
    expect(source.status).toBe(200);
    const lines = ((await source.json()) as { text: string }).text.split('\n');
    expect(lines[Number(span.attributes['code.line.number']) - 1]).toMatch(definition);
  });

  it('stops on Ctrl-C with the sample\'s exit code', async () => {
    demo.kill('SIGINT');
    const code = await new Promise((r) => (demo.exitCode !== null ? r(demo.exitCode) : demo.on('close', r)));
    expect(code).toBe(0);
    expect(out).toMatch(/\d+ spans in 2 trace\(s\), 2 ending in an error/);
  }, 30_000);
});

describe('a receiver that stops while the program runs', () => {
  it('changes neither the output nor the exit code; the dropped spans are reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-fault-'));
    try {
      const source = [
        'function work(i) { return i * 2; }',
        'let ticks = 0;',
        'console.log("start");',
        'const timer = setInterval(function tick() {',
        '  for (let i = 0; i < 20; i++) work(i);',
        '  if (++ticks === 60) { clearInterval(timer); console.log("done", ticks); }',
        '}, 50);',
        '',
      ].join('\n');
      writeFileSync(join(dir, 'orig.mjs'), source);
      const { code } = await instrument(source, { filename: join(dir, 'main.mjs'), root: dir, runtime: RUNTIME, moduleType: 'esm' });
      writeFileSync(join(dir, 'inst.mjs'), code);
      const server = await startServer({ port: 0, host: '127.0.0.1', data: join(dir, 'data'), root: dir });
      const run = (file: string) => new Promise<{ stdout: string; stderr: string; status: number | null; ms: number }>((resolve) => {
        const started = Date.now();
        const child = spawn(process.execPath, [file], { cwd: dir, env: { ...cleanEnv(), OTEL_EXPORTER_OTLP_ENDPOINT: server.url, OTEL_BSP_SCHEDULE_DELAY: '100' } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (status) => resolve({ stdout, stderr, status, ms: Date.now() - started }));
      });
      const original = await run(join(dir, 'orig.mjs'));
      const running = run(join(dir, 'inst.mjs'));
      // Stop the receiver partway (the program runs for about 3 s), once spans have arrived.
      for (const deadline = Date.now() + 2500; server.store.spanCount() === 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 20));
      const stored = server.store.spanCount();
      await server.close();
      const instrumented = await running;
      expect(instrumented.stdout).toBe(original.stdout);
      expect(instrumented.stdout).toBe('start\ndone 60\n');
      expect(instrumented.status).toBe(original.status);
      expect(original.stderr).toBe('');
      expect(instrumented.stderr).toMatch(/^cti: dropped \d+ spans: receiver http:\/\/127\.0\.0\.1:\d+\/v1\/traces .*\n$/);
      // Spans got through before the stop, and the program did not wait long for the dead receiver.
      expect(stored).toBeGreaterThan(0);
      expect(new TraceStore(join(dir, 'data')).spanCount()).toBeGreaterThanOrEqual(stored);
      expect(instrumented.ms).toBeLessThan(original.ms + 5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
