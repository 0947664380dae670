/**
 * `cti serve`: the OTLP decoder (JSON, protobuf, gzip; strict), the trace store (durable,
 * deduplicating, filters), the HTTP API (receiver, traces, source view, live events), its
 * security (loopback by default, token on every route, limits, paths outside the root) and the
 * CLI (`serve --import`, `show`, `export --mermaid`).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toOtlpJson } from '../src/runtime/export/otlp-json.js';
import type { SpanData } from '../src/runtime/span-data.js';
import { decodeTraceRequest, PayloadError } from '../src/server/otlp-decode.js';
import { ExportTraceServiceRequest } from '../src/server/otlp-proto.js';
import { serveOptionsProblem, startServer, type RunningServer } from '../src/server/serve.js';
import { TraceStore } from '../src/server/store.js';
import { REPO } from './helpers/run-both.js';

const T1 = '0af7651916cd43dd8448eb211c80319c';
const T2 = '4bf92f3577b34da6a3ce929d0e0e4736';

function span(over: Partial<SpanData>): SpanData {
  return {
    trace_id: T1, span_id: 'b7ad6b7169203331', parent_span_id: null, name: 'main',
    start_time_unix_nano: '1764000000000000000', end_time_unix_nano: '1764000000005000000',
    attributes: { 'code.function.name': 'main', 'code.file.path': 'src/app.js', 'code.line.number': 3 },
    events: [], dropped_events_count: 0, status: { code: 'OK' }, resource: { 'service.name': 'shop' },
    ...over,
  };
}

/** A two-trace sample: shop's checkout (with an error child) and billing's invoice. */
const SAMPLE: SpanData[] = [
  span({}),
  span({ span_id: '00f067aa0ba902b7', parent_span_id: 'b7ad6b7169203331', name: 'checkout', start_time_unix_nano: '1764000000001000000', end_time_unix_nano: '1764000000004000000',
    status: { code: 'ERROR', message: 'OutOfStock: melon' },
    events: [{ name: 'exception', time_unix_nano: '1764000000003000000', attributes: { 'exception.type': 'OutOfStock', 'exception.message': 'melon' } }] }),
  span({ trace_id: T2, span_id: '1111111111111111', name: 'invoice', start_time_unix_nano: '1764000001000000000', end_time_unix_nano: '1764000001000100000', resource: { 'service.name': 'billing' } }),
];

/** The same request as protobuf, built from the OTLP/JSON one with ids as bytes. */
function protobufBody(spans: SpanData[]): Buffer {
  const json = toOtlpJson(spans) as unknown as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> };
  for (const rs of json.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) {
    for (const k of ['traceId', 'spanId', 'parentSpanId']) if (typeof s[k] === 'string') s[k] = Buffer.from(s[k] as string, 'hex');
  }
  return Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(json)).finish());
}

const jsonBody = (spans: SpanData[]) => Buffer.from(JSON.stringify(toOtlpJson(spans)));

describe('the OTLP decoder', () => {
  it('reads JSON, protobuf and gzip bodies into the same spans', () => {
    const max = 1 << 20;
    expect(decodeTraceRequest(jsonBody(SAMPLE), 'application/json', undefined, max)).toEqual(SAMPLE);
    expect(decodeTraceRequest(protobufBody(SAMPLE), 'application/x-protobuf', undefined, max)).toEqual(SAMPLE);
    expect(decodeTraceRequest(gzipSync(protobufBody(SAMPLE)), 'application/x-protobuf', 'gzip', max)).toEqual(SAMPLE);
    expect(decodeTraceRequest(gzipSync(jsonBody(SAMPLE)), 'application/json; charset=utf-8', 'gzip', max)).toEqual(SAMPLE);
  });

  it('refuses malformed requests as a whole, naming the field', () => {
    const refuse = (body: Buffer | string, type = 'application/json', encoding?: string, max = 1 << 20) => {
      try {
        decodeTraceRequest(Buffer.from(body), type, encoding, max);
      } catch (e) {
        expect(e).toBeInstanceOf(PayloadError);
        return `${(e as PayloadError).status} ${(e as Error).message}`;
      }
      throw new Error('accepted');
    };
    expect(refuse('{"resourceSpans": [')).toBe('400 body is not valid JSON');
    expect(refuse('{"resourceSpans": {}}')).toBe('400 resourceSpans: not an array');
    const badId = JSON.stringify(toOtlpJson(SAMPLE)).replace('b7ad6b7169203331', 'zz');
    expect(refuse(badId)).toMatch(/^400 resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.spanId: not a 8-byte id/);
    expect(refuse(Buffer.from([0x0a, 0xff, 0xff]), 'application/x-protobuf')).toMatch(/^400 body is not a valid OTLP protobuf message/);
    expect(refuse('x', 'text/plain')).toMatch(/^415 content-type text\/plain/);
    expect(refuse('x', 'application/json', 'br')).toMatch(/^415 content-encoding br/);
    expect(refuse(gzipSync(Buffer.alloc(5000, 32)), 'application/json', 'gzip', 1000)).toMatch(/^413 /);
    expect(refuse('not gzip', 'application/json', 'gzip')).toBe('400 body is not valid gzip');
  });
});

describe('the trace store', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cti-store-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('summarises traces, filters them, ignores duplicates and survives a restart', () => {
    const store = new TraceStore(dir);
    expect([...store.insert(SAMPLE)].sort()).toEqual([T1, T2].sort());
    expect(store.insert(SAMPLE).size).toBe(0); // a retried request
    store.close();
    const again = new TraceStore(dir);
    try {
      expect(again.spanCount()).toBe(3);
      expect(again.traces()).toEqual([
        { trace_id: T2, root_name: 'invoice', service: 'billing', start_time_unix_nano: '1764000001000000000', duration_ns: '100000', span_count: 1, error_count: 0 },
        { trace_id: T1, root_name: 'main', service: 'shop', start_time_unix_nano: '1764000000000000000', duration_ns: '5000000', span_count: 2, error_count: 1 },
      ]);
      expect(again.traces({ service: 'shop' }).map((t) => t.trace_id)).toEqual([T1]);
      expect(again.traces({ name: 'check' }).map((t) => t.trace_id)).toEqual([T1]);
      expect(again.traces({ name: '%' })).toEqual([]);
      expect(again.traces({ error: true }).map((t) => t.trace_id)).toEqual([T1]);
      expect(again.traces({ error: false }).map((t) => t.trace_id)).toEqual([T2]);
      expect(again.traces({ minDurationNs: 1_000_000n }).map((t) => t.trace_id)).toEqual([T1]);
      expect(again.traces({ limit: 1 })).toHaveLength(1);
      expect(again.trace(T1.toUpperCase())).toEqual([SAMPLE[0], SAMPLE[1]]);
      expect(again.services()).toEqual(['billing', 'shop']);
    } finally {
      again.close();
    }
  });

  it('names a trace by its root once the root arrives, by its earliest span until then', () => {
    const store = new TraceStore(':memory:');
    store.insert([SAMPLE[1]!]);
    expect(store.traces()[0]!.root_name).toBe('checkout');
    store.insert([SAMPLE[0]!]);
    expect(store.traces()[0]).toMatchObject({ root_name: 'main', span_count: 2, duration_ns: '5000000' });
    store.close();
  });

  it('stays bounded: past maxSpans the oldest traces go, whole', () => {
    const store = new TraceStore(':memory:', 10);
    const trace = (t: number) => Array.from({ length: 3 }, (_, i) => span({
      trace_id: t.toString(16).padStart(32, '0'), span_id: (t * 10 + i + 1).toString(16).padStart(16, '0'), parent_span_id: i ? (t * 10 + 1).toString(16).padStart(16, '0') : null,
      start_time_unix_nano: String(1764000000000000000n + BigInt(t * 1000 + i)),
    }));
    for (let t = 1; t <= 5; t++) store.insert(trace(t));
    // 15 spans > 10: the oldest traces are deleted down to 9 (90%): traces 3, 4, 5 remain.
    expect(store.spanCount()).toBe(9);
    expect(store.traces().map((t) => Number.parseInt(t.trace_id, 16))).toEqual([5, 4, 3]);
    expect(store.trace((1).toString(16).padStart(32, '0'))).toEqual([]);
    store.close();
  });
});

describe('the HTTP API', () => {
  let work: string;
  let server: RunningServer;
  const url = (path: string) => `${server.url}${path}`;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cti-serve-'));
    const root = join(work, 'project');
    mkdirSync(join(root, 'src'), { recursive: true });
    writeFileSync(join(root, 'src/app.js'), 'function main() {}\n');
    writeFileSync(join(work, 'secret.txt'), 'secret');
    symlinkSync(join(work, 'secret.txt'), join(root, 'src/leak.js'));
    symlinkSync(join(root, 'src/app.js'), join(root, 'src/alias.js'));
    server = await startServer({ port: 0, host: '127.0.0.1', data: join(work, 'data'), root, maxBodyBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('receives spans and serves them back through the API, with live events', async () => {
    const events: string[] = [];
    const live = await fetch(url('/api/live'));
    const reader = live.body!.getReader();
    const received = (async () => {
      for (let text = ''; !text.includes('event: traces');) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value!).toString('utf8');
        events.push(text);
      }
    })();
    const post = await fetch(url('/v1/traces'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: jsonBody(SAMPLE) });
    expect(post.status).toBe(200);
    expect(await post.json()).toEqual({});
    await received;
    await reader.cancel();
    expect(events.at(-1)).toMatch(/event: traces\ndata: \{"trace_ids":\[/);
    const pb = await fetch(url('/v1/traces'), { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: protobufBody(SAMPLE) });
    expect(pb.status).toBe(200);
    expect(pb.headers.get('content-type')).toBe('application/x-protobuf');

    const list = await (await fetch(url('/api/traces?service=shop&error=true&limit=5'))).json();
    expect(list).toEqual({ traces: [expect.objectContaining({ trace_id: T1, root_name: 'main', span_count: 2, error_count: 1 })] });
    expect((await (await fetch(url('/api/traces?min_duration_ms=1'))).json()).traces.map((t: { trace_id: string }) => t.trace_id)).toEqual([T1]);
    expect(await (await fetch(url(`/api/traces/${T1}`))).json()).toEqual({ spans: [SAMPLE[0], SAMPLE[1]] });
    expect((await fetch(url(`/api/traces/${'f'.repeat(32)}`))).status).toBe(404);
    expect(await (await fetch(url('/api/services'))).json()).toEqual({ services: ['billing', 'shop'] });
    expect(await (await fetch(url('/api/stats'))).json()).toEqual({ spans: 3, traces: 2, received: 6, refused: 0 });
  });

  it('refuses malformed (400), oversized (413) and foreign (415) bodies with a message, storing nothing of them', async () => {
    const before = server.store.spanCount();
    const half = JSON.stringify(toOtlpJson([span({ trace_id: 'e'.repeat(32) }), span({ trace_id: 'e'.repeat(32), span_id: '' })]));
    const r400 = await fetch(url('/v1/traces'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: half });
    expect(r400.status).toBe(400);
    expect((await r400.json()).error).toMatch(/spans\[1\]\.spanId/);
    const r413 = await fetch(url('/v1/traces'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(100 * 1024, 32) });
    expect(r413.status).toBe(413);
    expect((await r413.json()).error).toMatch(/larger than the 65536-byte limit/);
    const r415 = await fetch(url('/v1/traces'), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    expect(r415.status).toBe(415);
    expect(server.store.spanCount()).toBe(before);
    expect(server.store.trace('e'.repeat(32))).toEqual([]);
    expect((await fetch(url('/v1/traces'))).status).toBe(405);
  });

  it('serves sources inside the root only', async () => {
    const source = async (path: string) => {
      const r = await fetch(url(`/api/source?path=${encodeURIComponent(path)}`));
      return { status: r.status, body: await r.json() };
    };
    expect(await source('src/app.js')).toEqual({ status: 200, body: { path: 'src/app.js', text: 'function main() {}\n' } });
    expect((await source('src/alias.js')).status).toBe(200); // a symlink that stays inside
    expect((await source('../secret.txt')).status).toBe(403);
    expect((await source('src/../../secret.txt')).status).toBe(403);
    expect((await source(join(work, 'secret.txt'))).status).toBe(403);
    expect((await source('src/leak.js')).status).toBe(403); // a symlink that leads outside
    expect((await source('src/none.js')).status).toBe(404);
    expect((await source('src')).status).toBe(404);
    expect((await source('')).status).toBe(400);
  });

  it('serves the viewer', async () => {
    const page = await fetch(url('/'));
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<script type="module" src="app.js">');
    expect((await fetch(url('/app.js'))).status).toBe(200);
    expect((await fetch(url('/nope'))).status).toBe(404);
  });
});

describe('security', () => {
  it('binds to loopback unless given a token', () => {
    expect(serveOptionsProblem({ host: '127.0.0.1' })).toBeNull();
    expect(serveOptionsProblem({ host: '::1' })).toBeNull();
    expect(serveOptionsProblem({ host: '0.0.0.0' })).toMatch(/requires --token/);
    expect(serveOptionsProblem({ host: '0.0.0.0', token: 't' })).toBeNull();
  });

  it('with a token, every route wants it (header or ?token=)', async () => {
    const work = mkdtempSync(join(tmpdir(), 'cti-token-'));
    const server = await startServer({ port: 0, host: '127.0.0.1', data: join(work, 'data'), root: work, token: 's3cret' });
    try {
      for (const path of ['/', '/app.js', '/api/traces', '/api/live', `/api/traces/${T1}`, '/api/source?path=x']) {
        expect((await fetch(`${server.url}${path}`)).status, path).toBe(401);
        expect((await fetch(`${server.url}${path}`, { headers: { authorization: 'Bearer wrong' } })).status, path).toBe(401);
      }
      expect((await fetch(`${server.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: jsonBody(SAMPLE) })).status).toBe(401);
      expect(server.store.spanCount()).toBe(0);
      const ok = await fetch(`${server.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer s3cret' }, body: jsonBody(SAMPLE) });
      expect(ok.status).toBe(200);
      expect((await fetch(`${server.url}/api/traces?token=s3cret`)).status).toBe(200);
    } finally {
      await server.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('the CLI', () => {
  it('serve --import loads a JSONL file; show prints the tree; export --mermaid a diagram', async () => {
    const work = mkdtempSync(join(tmpdir(), 'cti-cli-serve-'));
    const file = join(work, 'spans.jsonl');
    writeFileSync(file, `${SAMPLE.map((s) => JSON.stringify(s)).join('\n')}\n{"not":"a span"}\n`);
    const data = join(work, 'data');
    const cti = (args: string[]) => spawn(process.execPath, [join(REPO, 'bin/cti.js'), ...args], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    const serve = cti(['serve', '--port', '0', '--data', data, '--import', file]);
    let out = '';
    serve.stdout.on('data', (d) => (out += d));
    try {
      for (const deadline = Date.now() + 15_000; !out.includes('viewer at') && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain('imported 3 spans from');
      expect(out).toContain('skipped 1 lines (first: line 4: trace_id is not 32 lowercase hex digits)');
      const base = /viewer at (http:\/\/[^/]+)\//.exec(out)![1]!;
      expect((await (await fetch(`${base}/api/traces`)).json()).traces).toHaveLength(2);
    } finally {
      serve.kill('SIGTERM');
      await new Promise((r) => serve.on('close', r));
    }
    const run = async (args: string[]) => {
      const child = cti(args);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const status = await new Promise((r) => child.on('close', r));
      return { status, stdout, stderr };
    };
    const show = await run(['show', T1, '--data', data]);
    expect(show.status).toBe(0);
    expect(show.stdout).toMatch(/^main:3 {2}\(\)  5\.00 ms\n {2}checkout:3 ERROR {2}\(\)  3\.00 ms {2}\[1 events\]\n$/);
    const mermaid = await run(['export', T1, '--mermaid', '--data', data]);
    expect(mermaid.stdout).toBe([
      'sequenceDiagram',
      '  participant p0 as caller',
      '  participant p1 as main',
      '  participant p2 as checkout',
      '  p0->>p1: main()',
      '  p1->>p2: checkout()',
      '  p2--xp1: throws OutOfStock: melon',
      '  p1-->>p0: return',
      '',
    ].join('\n'));
    const missing = await run(['show', 'f'.repeat(32), '--data', data]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`cti: trace ${'f'.repeat(32)} is not in the store\n`);
    rmSync(work, { recursive: true, force: true });
  }, 60_000);
});
