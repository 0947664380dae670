/**
 * The browser fixture page (tests/browser/fixtures/app): one visit with a click, and the span
 * tree that click must produce, shared by the Vite tests and the other bundlers' tests.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import type { SpanData } from '../../src/runtime/span-data.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface Visit { out: string | null; async: string | null; loads: number; errors: string[]; requests: string[]; clickedAt: number }

/** Loads the page, clicks, waits for the async result, then leaves (pagehide) at once. */
export async function visitFixture(context: BrowserContext, url: string, settleMs = 0): Promise<Visit> {
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  let loads = 0;
  page.on('load', () => loads++);
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
  page.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`${r.status()} ${r.url()}`); });
  await page.goto(url);
  await page.waitForSelector('#ready:has-text("ready")');
  if (settleMs) await page.waitForTimeout(settleMs);
  const clickedAt = Date.now();
  await page.click('#btn');
  await page.waitForSelector('#async:has-text("async")');
  const result = { out: await page.textContent('#out'), async: await page.textContent('#async'), loads, errors, requests, clickedAt };
  // Within the runtime's 1 s batch timer: the click's spans leave on pagehide.
  await page.goto('about:blank');
  await page.close();
  return result;
}

/** The fixture click's span tree, checked against the fixture's source lines. */
export function checkFixtureSpans(spans: SpanData[], source: string[], serviceName = 'cti-fixture'): void {
  const lineOf = (text: string) => source.findIndex((l) => l.includes(text)) + 1;
  const by = (name: string) => {
    const found = spans.filter((s) => s.attributes['code.function.name'] === name);
    expect(found, name).toHaveLength(1);
    return found[0]!;
  };
  const onClick = by('onClick');
  const inc = by('Counter.inc');
  const describeSpan = by('describe');
  const safe = by('safe');
  const risky = by('risky');
  const load = by('load');
  for (const [span, line] of [[onClick, lineOf('function onClick')], [inc, lineOf('inc(by')], [describeSpan, lineOf('function describe')],
    [safe, lineOf('function safe')], [risky, lineOf('function risky')], [load, lineOf('async function load')]] as const) {
    expect(span.attributes['code.file.path']).toBe('src/main.ts');
    expect(span.attributes['code.line.number'], String(span.attributes['code.function.name'])).toBe(line);
    expect(span.trace_id).toBe(onClick.trace_id);
  }
  expect(onClick.parent_span_id).toBeNull();
  for (const child of [inc, describeSpan, safe, load]) expect(child.parent_span_id).toBe(onClick.span_id);
  expect(risky.parent_span_id).toBe(safe.span_id);
  expect(risky.status.code).toBe('ERROR');
  expect(safe.status.code).toBe('OK');
  const exception = risky.events.find((e) => e.name === 'exception');
  expect(exception?.attributes['exception.type']).toBe('RangeError');
  expect(exception?.attributes['exception.message']).toBe('too big 1');
  expect(inc.attributes['cti.return']).toBe('1');
  expect(onClick.resource['telemetry.sdk.language']).toBe('webjs');
  expect(onClick.resource['service.name']).toBe(serviceName);
  expect(onClick.resource['telemetry.sdk.version']).toBe(VERSION);
}

export const FIXTURE_NAMES = ['onClick', 'Counter.inc', 'describe', 'safe', 'risky', 'load'];
