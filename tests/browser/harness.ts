/**
 * What the real-browser tests share: Debian's Chromium (installed by tests/setup/apt.ts) driven by
 * playwright-core, and a local OTLP/HTTP receiver that answers CORS like the OpenTelemetry
 * Collector and parses bodies with the `cti serve` decoder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext } from 'playwright-core';
import { decodeOtlpJson } from '../../src/server/otlp-decode.js';
import type { SpanData } from '../../src/runtime/span-data.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

/** Headless Chromium with a fresh profile in `profileDir`. */
export function launchChromium(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, args: ARGS, headless: true });
}

export interface ReceivedBody { spans: SpanData[]; at: number; origin: string | undefined }

export interface Receiver {
  server: Server;
  /** `http://127.0.0.1:<port>/v1/traces` */
  url: string;
  /** Every POST to /v1/traces, in arrival order. */
  received: ReceivedBody[];
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: ReceivedBody[] = [];
  const server = createServer((req, res) => {
    // What the OpenTelemetry Collector's CORS setting answers: `*`, no credentials.
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-allow-headers', 'content-type');
    res.setHeader('access-control-allow-methods', 'POST');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') received.push({ spans: decodeOtlpJson(JSON.parse(Buffer.concat(chunks).toString('utf8'))), at: Date.now(), origin: req.headers.origin });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  return { server, url, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Polls the receiver until spans of every name in `names` arrived after `since` (or the timeout). */
export async function spansFor(received: ReceivedBody[], since: number, names: string[], timeoutMs = 10_000): Promise<{ spans: SpanData[]; bodies: ReceivedBody[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const bodies = received.filter((r) => r.at >= since);
    const spans = bodies.flatMap((r) => r.spans);
    const have = new Set(spans.map((s) => s.attributes['code.function.name']));
    if (names.every((n) => have.has(n)) || Date.now() > deadline) return { spans, bodies };
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface BrowserSession {
  /** A temporary directory of the test file (Chromium's profile lives in it). */
  work: string;
  context: BrowserContext;
  receiver: Receiver;
}

/** One test file's temporary directory, receiver and Chromium, set up before its tests and removed after. */
export function browserSession(prefix: string): BrowserSession {
  const session = {} as BrowserSession;
  beforeAll(async () => {
    session.work = mkdtempSync(join(tmpdir(), prefix));
    session.receiver = await startReceiver();
    session.context = await launchChromium(join(session.work, 'profile'));
  }, 240_000);
  afterAll(async () => {
    await session.context?.close();
    await session.receiver?.close();
    if (session.work) rmSync(session.work, { recursive: true, force: true });
  });
  return session;
}
