import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRuntimeEnv, parseKeyValues } from '../src/runtime/env.js';
import { createExporters, installExitHooks } from '../src/runtime/export/index.js';
import { JsonlExporter } from '../src/runtime/export/jsonl.js';
import { OtlpHttpExporter } from '../src/runtime/export/otlp-http.js';
import { toOtlpJson } from '../src/runtime/export/otlp-json.js';
import { decodeOtlpJson } from '../src/server/otlp-decode.js';
import type { SpanData } from '../src/runtime/span-data.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = join(root, 'tests/fixtures/export-program.mjs');
const tmp = join(root, 'tests/.tmp/runtime-export');

beforeAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
});

function sampleSpan(over: Partial<SpanData> = {}): SpanData {
  return {
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    span_id: 'b7ad6b7169203331',
    parent_span_id: null,
    name: 'add',
    start_time_unix_nano: '1700000000000000123',
    end_time_unix_nano: '1700000000000500456',
    attributes: { 'code.function.name': 'add', 'code.line.number': 3, 'cti.return': '3', ratio: 0.5, ok: true, big: 2 ** 60 },
    events: [{ name: 'cti.var', time_unix_nano: '1700000000000000200', attributes: { 'cti.var.name': 'x', 'cti.var.value': '1', n: 7 } }],
    dropped_events_count: 0,
    status: { code: 'OK' },
    resource: { 'service.name': 'svc', 'process.pid': 42 },
    ...over,
  };
}

// ---------------------------------------------------------------- environment

describe('readRuntimeEnv', () => {
  const read = (env: Record<string, string>) => {
    const warnings: string[] = [];
    return { ...readRuntimeEnv(env, (m) => warnings.push(m)), warnings };
  };

  it('has spec defaults for an empty environment', () => {
    const r = read({});
    expect(r).toMatchObject({
      disabled: false,
      serviceName: 'unknown_service:node',
      tracesFile: undefined,
      endpoint: undefined,
      headers: {},
      timeoutMs: 10_000,
      sampler: { kind: 'always_on', parentBased: true, ratio: 1 },
      eventLimit: undefined,
      valueLimit: undefined,
      queueSize: undefined,
      batchSize: undefined,
      warnings: [],
    });
    expect(r.resource).toEqual({
      'service.name': 'unknown_service:node',
      'telemetry.sdk.name': 'code-telemetry-injector',
      'telemetry.sdk.language': 'nodejs',
      'telemetry.sdk.version': expect.any(String),
      'process.pid': process.pid,
    });
  });

  it('reads OTEL_SDK_DISABLED case-insensitively and warns on nonsense', () => {
    expect(read({ OTEL_SDK_DISABLED: 'TRUE' }).disabled).toBe(true);
    expect(read({ OTEL_SDK_DISABLED: 'false' })).toMatchObject({ disabled: false, warnings: [] });
    const r = read({ OTEL_SDK_DISABLED: 'yes' });
    expect(r.disabled).toBe(false);
    expect(r.warnings).toHaveLength(1);
  });

  it('takes the service name from OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES', () => {
    const r = read({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs,deployment.environment=dev%20box, team = a%2Cb ' });
    expect(r.serviceName).toBe('from-attrs');
    expect(r.resource).toMatchObject({ 'service.name': 'from-attrs', 'deployment.environment': 'dev box', team: 'a,b' });
    const both = read({ OTEL_SERVICE_NAME: 'explicit', OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' });
    expect(both.serviceName).toBe('explicit');
    expect(both.resource['service.name']).toBe('explicit');
  });

  it('discards a malformed OTEL_RESOURCE_ATTRIBUTES as a whole, with a warning', () => {
    const r = read({ OTEL_RESOURCE_ATTRIBUTES: 'a=1,broken,b=%E0%A4%A' });
    expect(r.resource.a).toBeUndefined();
    expect(r.warnings).toEqual([expect.stringContaining('OTEL_RESOURCE_ATTRIBUTES')]);
    expect(parseKeyValues('k=%zz', 'X', () => {})).toEqual({});
  });

  it('builds the traces endpoint from the three variables', () => {
    expect(read({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://h:1/custom', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' }).endpoint).toBe('http://h:1/custom');
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://h:4318' }).endpoint).toBe('http://h:4318/v1/traces');
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://h:4318/base/' }).endpoint).toBe('http://h:4318/base/v1/traces');
    expect(read({ RECEIVER_URL: 'http://127.0.0.1:4318/' }).endpoint).toBe('http://127.0.0.1:4318/v1/traces');
    expect(read({ RECEIVER_URL: 'http://127.0.0.1:4318/v1/traces' }).endpoint).toBe('http://127.0.0.1:4318/v1/traces');
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:1', RECEIVER_URL: 'http://b:2' }).endpoint).toBe('http://a:1/v1/traces');
    const bad = read({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'not a url' });
    expect(bad.endpoint).toBeUndefined();
    expect(bad.warnings).toHaveLength(1);
  });

  it('merges headers, the traces-specific ones winning, percent-decoded', () => {
    const r = read({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key=abc,x-team=a%20b', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'api-key=xyz' });
    expect(r.headers).toEqual({ 'api-key': 'xyz', 'x-team': 'a b' });
  });

  it('reads timeouts and limits, ignoring bad numbers with a warning', () => {
    expect(read({ OTEL_EXPORTER_OTLP_TIMEOUT: '2500' }).timeoutMs).toBe(2500);
    expect(read({ OTEL_EXPORTER_OTLP_TIMEOUT: '2500', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '700' }).timeoutMs).toBe(700);
    const bad = read({ OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: 'soon', OTEL_EXPORTER_OTLP_TIMEOUT: '1200' });
    expect(bad.timeoutMs).toBe(1200);
    expect(bad.warnings).toHaveLength(1);
    expect(read({ OTEL_EXPORTER_OTLP_TIMEOUT: '0' }).timeoutMs).toBe(10_000);
    expect(read({ OTEL_SPAN_EVENT_COUNT_LIMIT: '16', OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '0' })).toMatchObject({ eventLimit: 16, valueLimit: 0 });
    const limits = read({ OTEL_SPAN_EVENT_COUNT_LIMIT: '-1', OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '1.5' });
    expect(limits).toMatchObject({ eventLimit: undefined, valueLimit: undefined });
    expect(limits.warnings).toHaveLength(2);
    expect(read({ OTEL_BSP_MAX_QUEUE_SIZE: '10000', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '100' })).toMatchObject({ queueSize: 10000, batchSize: 100 });
    expect(read({ OTEL_BSP_MAX_QUEUE_SIZE: '0' }).queueSize).toBeUndefined();
  });

  it('reads the sampler', () => {
    expect(read({ OTEL_TRACES_SAMPLER: 'always_off' }).sampler).toEqual({ kind: 'always_off', parentBased: false, ratio: 0 });
    expect(read({ OTEL_TRACES_SAMPLER: 'ParentBased_TraceIdRatio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).sampler).toEqual({ kind: 'traceidratio', parentBased: true, ratio: 0.25 });
    expect(read({ OTEL_TRACES_SAMPLER: 'traceidratio' }).sampler).toEqual({ kind: 'traceidratio', parentBased: false, ratio: 1 });
    const badArg = read({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' });
    expect(badArg.sampler.ratio).toBe(1);
    expect(badArg.warnings).toHaveLength(1);
    const unknown = read({ OTEL_TRACES_SAMPLER: 'jaeger_remote' });
    expect(unknown.sampler).toEqual({ kind: 'always_on', parentBased: true, ratio: 1 });
    expect(unknown.warnings).toEqual([expect.stringContaining('jaeger_remote')]);
  });

  it('warns once per problem on stderr with the cti: prefix', async () => {
    const r = await runNode(
      `import { readRuntimeEnv } from './dist/runtime/env.js';
       readRuntimeEnv(); readRuntimeEnv();`,
      { OTEL_TRACES_SAMPLER: 'xray', OTEL_EXPORTER_OTLP_TIMEOUT: 'x' },
    );
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^cti: OTEL_EXPORTER_OTLP_TIMEOUT=x /),
      expect.stringMatching(/^cti: OTEL_TRACES_SAMPLER=xray is not supported/),
    ]);
  });
});

// ---------------------------------------------------------------- OTLP JSON

describe('toOtlpJson (read back by the cti serve decoder)', () => {
  it('encodes a span per the OTLP/HTTP JSON rules', () => {
    const body = toOtlpJson([sampleSpan()]);
    expect(body.resourceSpans).toHaveLength(1);
    const rs = body.resourceSpans[0]!;
    expect(rs.resource.attributes).toEqual([
      { key: 'service.name', value: { stringValue: 'svc' } },
      { key: 'process.pid', value: { intValue: '42' } },
    ]);
    expect(rs.scopeSpans[0]!.scope).toEqual({ name: 'code-telemetry-injector', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    const span = rs.scopeSpans[0]!.spans[0]!;
    expect(span).toEqual({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      name: 'add',
      kind: 1,
      startTimeUnixNano: '1700000000000000123',
      endTimeUnixNano: '1700000000000500456',
      attributes: [
        { key: 'code.function.name', value: { stringValue: 'add' } },
        { key: 'code.line.number', value: { intValue: '3' } },
        { key: 'cti.return', value: { stringValue: '3' } },
        { key: 'ratio', value: { doubleValue: 0.5 } },
        { key: 'ok', value: { boolValue: true } },
        { key: 'big', value: { intValue: '1152921504606846976' } },
      ],
      events: [{
        timeUnixNano: '1700000000000000200',
        name: 'cti.var',
        attributes: [
          { key: 'cti.var.name', value: { stringValue: 'x' } },
          { key: 'cti.var.value', value: { stringValue: '1' } },
          { key: 'n', value: { intValue: '7' } },
        ],
      }],
      status: { code: 1 },
    });
    expect('parentSpanId' in span).toBe(false);
  });

  it('encodes parents, errors, dropped events and odd numbers', () => {
    const span = toOtlpJson([sampleSpan({
      parent_span_id: '00F067AA0BA902B7',
      status: { code: 'ERROR', message: 'TypeError: x is undefined' },
      dropped_events_count: 5,
      attributes: { nan: NaN, inf: -Infinity, huge: 1e300, neg: -3 },
    })]).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(span.parentSpanId).toBe('00f067aa0ba902b7');
    expect(span.status).toEqual({ code: 2, message: 'TypeError: x is undefined' });
    expect(span.droppedEventsCount).toBe(5);
    expect(span.attributes).toEqual([
      { key: 'nan', value: { doubleValue: 'NaN' } },
      { key: 'inf', value: { doubleValue: '-Infinity' } },
      { key: 'huge', value: { doubleValue: 1e300 } },
      { key: 'neg', value: { intValue: '-3' } },
    ]);
    // Survives JSON text (no bigint, no undefined).
    expect(JSON.parse(JSON.stringify(span))).toEqual(span);
  });

  it('groups spans by resource whatever the attribute order', () => {
    const a = { 'service.name': 'a', 'process.pid': 1 };
    const body = toOtlpJson([
      sampleSpan({ span_id: '0000000000000001', resource: a }),
      sampleSpan({ span_id: '0000000000000002', resource: { 'service.name': 'b', 'process.pid': 2 } }),
      sampleSpan({ span_id: '0000000000000003', resource: { 'process.pid': 1, 'service.name': 'a' } }),
    ]);
    expect(body.resourceSpans.map((rs) => rs.scopeSpans[0]!.spans.map((s) => s.spanId))).toEqual([
      ['0000000000000001', '0000000000000003'],
      ['0000000000000002'],
    ]);
  });

  it('round-trips through the decoder', () => {
    const spans = [
      sampleSpan(),
      sampleSpan({ span_id: '1111111111111111', parent_span_id: 'b7ad6b7169203331', status: { code: 'ERROR', message: 'boom' }, dropped_events_count: 2 }),
      sampleSpan({ span_id: '2222222222222222', resource: { 'service.name': 'other' } }),
    ];
    const body = toOtlpJson(spans);
    expect(decodeOtlpJson(JSON.parse(JSON.stringify(body)))).toEqual(spans);
  });

  it('accepts what other SDKs send: base64 ids, numeric times, enum names', () => {
    const [s] = decodeOtlpJson({
      resourceSpans: [{
        resource: { attributes: [{ key: 'k', value: { arrayValue: { values: [{ stringValue: 'x' }] } } }] },
        scopeSpans: [{ spans: [{
          traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex').toString('base64'),
          spanId: Buffer.from('b7ad6b7169203331', 'hex').toString('base64'),
          parentSpanId: '',
          name: 'x', startTimeUnixNano: 1700000000000000000, endTimeUnixNano: '1700000000000000001',
          status: { code: 'STATUS_CODE_ERROR' },
          attributes: [{ key: 'i', value: { intValue: 5 } }],
        }] }],
      }],
    });
    expect(s).toMatchObject({
      trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331', parent_span_id: null,
      start_time_unix_nano: '1700000000000000000', status: { code: 'ERROR' }, attributes: { i: 5 },
      resource: { k: '{"values":[{"stringValue":"x"}]}' }, events: [], dropped_events_count: 0,
    });
    expect(decodeOtlpJson({})).toEqual([]);
  });
});

// ---------------------------------------------------------------- JSONL

describe('JsonlExporter', () => {
  it('appends one parseable line per span, creating the directory', () => {
    const file = join(tmp, 'nested/dir/traces.jsonl');
    const e = new JsonlExporter(file);
    const spans = [sampleSpan(), sampleSpan({ span_id: '1111111111111111', name: 'line\nbreak "quoted"' })];
    e.export(spans);
    e.export([sampleSpan({ span_id: '2222222222222222' })]);
    e.close();
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual([...spans, sampleSpan({ span_id: '2222222222222222' })]);
  });

  it('counts spans it cannot write and reports them once, never throwing', () => {
    const lines: string[] = [];
    const e = new JsonlExporter(tmp, (l) => lines.push(l)); // a directory: EISDIR
    expect(() => e.export([sampleSpan(), sampleSpan()])).not.toThrow();
    e.export([sampleSpan()]);
    e.flushSync();
    e.flushSync();
    expect(lines).toEqual([`dropped 3 spans: could not write ${tmp} (EISDIR)`]);
  });

  it('keeps lines whole when several processes append at once', async () => {
    const file = join(tmp, 'shared.jsonl');
    const runs = await Promise.all(['a', 'b', 'c', 'd'].map((tag) =>
      runFixture({ CTI_TRACES_FILE: file, FIX_TAG: tag, FIX_SPANS: '4000', FIX_BATCH: '50', FIX_PAD: '3000', FIX_EXIT: 'natural' })));
    for (const r of runs) expect(r.code).toBe(0);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(16_000);
    const perTag: Record<string, number> = {};
    for (const l of lines) {
      const s = JSON.parse(l) as SpanData;
      perTag[s.attributes['cti.tag'] as string] = (perTag[s.attributes['cti.tag'] as string] ?? 0) + 1;
    }
    expect(perTag).toEqual({ a: 4000, b: 4000, c: 4000, d: 4000 });
  });
});

// ---------------------------------------------------------------- OTLP over HTTP

/** `cut-off`: requests of new spans never get an answer (the program exits while they wait); a re-send (spans seen before) does. */
type Behaviour = 'ok' | 'cut-off' | 'hang' | '503' | 'reset' | 'partial';

interface Receiver {
  url: string;
  spans: SpanData[];
  requests: number;
  /** Spans of the requests left unanswered in `cut-off` mode. */
  held: number;
  behaviour: Behaviour;
  close(): Promise<void>;
}

async function startReceiver(behaviour: Behaviour = 'ok'): Promise<Receiver> {
  const r: Receiver = { url: '', spans: [], requests: 0, held: 0, behaviour, close: async () => {} };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.requests++;
      if (req.method !== 'POST' || req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/json') {
        res.writeHead(400).end();
        return;
      }
      switch (r.behaviour) {
        case 'hang': return; // never answers
        case 'reset': req.socket.destroy(); return;
        case '503': res.writeHead(503, { 'content-type': 'application/json' }).end('{}'); return;
        case 'partial': res.writeHead(200, { 'content-type': 'application/json' }).end('{"partialSuccess":{"rejectedSpans":"2","errorMessage":"too old"}}'); return;
        default: {
          const batch = decodeOtlpJson(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          const resent = batch.some((s) => r.spans.some((x) => x.span_id === s.span_id));
          r.spans.push(...batch);
          if (r.behaviour === 'cut-off' && !resent) {
            r.held += batch.length;
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  r.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return r;
}

/** A port nobody listens on: bind, note, release. */
async function closedPort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return `http://127.0.0.1:${port}`;
}

interface Run { code: number | null; stdout: string; stderr: string; ms: number }

function runProcess(args: string[], env: Record<string, string>): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    // Asynchronous on purpose: the receiver lives in this process and must keep answering.
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

const runFixture = (env: Record<string, string>, nodeArgs: string[] = []) => runProcess([...nodeArgs, fixture], env);
const runNode = (source: string, env: Record<string, string> = {}) => runProcess(['--input-type=module', '-e', source], env);

describe('OtlpHttpExporter in a real process', () => {
  let ok: Receiver;
  beforeAll(async () => {
    ok = await startReceiver('ok');
  });
  afterAll(() => ok.close());

  it('delivers spans that were still queued when the program called process.exit()', async () => {
    ok.spans = [];
    const r = await runFixture({ RECEIVER_URL: ok.url, OTEL_SERVICE_NAME: 'fixture', FIX_SPANS: '250', FIX_BATCH: '100', FIX_EXIT: 'process-exit' });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(ok.spans.map((s) => s.name).sort()).toEqual(Array.from({ length: 250 }, (_, i) => `fn${i}`).sort());
    const s7 = ok.spans.find((s) => s.name === 'fn7')!;
    expect(s7).toMatchObject({ parent_span_id: '0000000000000001', attributes: { 'cti.i': 7 }, resource: { 'service.name': 'fixture' } });
    expect(s7.resource['process.pid']).toEqual(expect.any(Number));
  });

  it('re-sends requests cut off by process.exit() (at least once)', async () => {
    ok.spans = [];
    ok.held = 0;
    ok.behaviour = 'cut-off';
    try {
      const r = await runFixture({ RECEIVER_URL: ok.url, FIX_SPANS: '250', FIX_BATCH: '100', FIX_EXIT: 'exit-soon' });
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const names = new Set(ok.spans.map((s) => s.name));
      expect(names.size).toBe(250);
      // Requests were cut off, and their spans arrived again with the rest: a duplicate rather than a loss.
      expect(ok.held).toBeGreaterThanOrEqual(100);
      expect(ok.spans.length).toBe(ok.held + 250);
    } finally {
      ok.behaviour = 'ok';
    }
  });

  it('delivers everything when the program just ends, and lets it end promptly', async () => {
    ok.spans = [];
    // 2000 spans in one synchronous burst: just under the 2048-span queue bound.
    const r = await runFixture({ RECEIVER_URL: ok.url, FIX_SPANS: '2000', FIX_BATCH: '100', FIX_EXIT: 'natural' });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(ok.spans).toHaveLength(2000);
    expect(new Set(ok.spans.map((s) => s.span_id)).size).toBe(2000);
    // Idle keep-alive sockets must not hold the process open.
    expect(r.ms).toBeLessThan(3000);
    // One flush at beforeExit, one more beforeExit when its requests are done: no loop.
    expect(r.stdout).toMatch(/beforeExit events: [12]\n/);
  });

  it('delivers spans exported from an uncaught-exception exit too', async () => {
    ok.spans = [];
    const r = await runFixture({ RECEIVER_URL: ok.url, FIX_SPANS: '30', FIX_BATCH: '7', FIX_EXIT: 'throw' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: boom');
    expect(r.stderr).not.toContain('cti:');
    expect(ok.spans).toHaveLength(30);
  });

  for (const exit of ['process-exit', 'natural'] as const) {
    it(`exits promptly and reports once when the receiver is down (${exit})`, async () => {
      const url = await closedPort();
      const r = await runFixture({ RECEIVER_URL: url, FIX_SPANS: '37', FIX_BATCH: '10', FIX_EXIT: exit });
      expect(r.code).toBe(0);
      expect(r.ms).toBeLessThan(3000);
      expect(r.stderr).toBe(`cti: dropped 37 spans: receiver ${url}/v1/traces unreachable (ECONNREFUSED)\n`);
    });
  }

  for (const exit of ['process-exit', 'natural'] as const) {
    it(`exits within the timeout bound when the receiver never answers (${exit})`, async () => {
      const hang = await startReceiver('hang');
      try {
        // The same program with no exporter, measured now: Node's start-up on this machine at this load.
        const startup = await runFixture({ FIX_SPANS: '5000', FIX_BATCH: '100', FIX_EXIT: exit });
        const r = await runFixture({ RECEIVER_URL: hang.url, OTEL_EXPORTER_OTLP_TIMEOUT: '1000', FIX_SPANS: '5000', FIX_BATCH: '100', FIX_EXIT: exit });
        expect(r.code).toBe(0);
        // One timeout (1 s) on top of the start-up, never two (let alone one per batch).
        expect(r.ms - startup.ms).toBeLessThan(1900);
        expect(r.stderr).toMatch(new RegExp(`^cti: dropped 5000 spans: receiver ${hang.url}/v1/traces did not answer within \\d+ ms\\n$`));
      } finally {
        await hang.close();
      }
    });
  }

  it('counts spans refused with an HTTP error or a reset connection', async () => {
    const bad = await startReceiver('503');
    try {
      const r = await runFixture({ RECEIVER_URL: bad.url, FIX_SPANS: '20', FIX_BATCH: '10', FIX_EXIT: 'natural' });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(`cti: dropped 20 spans: receiver ${bad.url}/v1/traces answered HTTP 503 Service Unavailable\n`);
      bad.behaviour = 'reset';
      const reset = await runFixture({ RECEIVER_URL: bad.url, FIX_SPANS: '20', FIX_BATCH: '10', FIX_EXIT: 'process-exit' });
      expect(reset.code).toBe(0);
      expect(reset.stderr).toMatch(new RegExp(`^cti: dropped 20 spans: receiver ${bad.url}/v1/traces reset the connection \\(\\w+\\)\\n$`));
    } finally {
      await bad.close();
    }
  });

  it('keeps memory bounded when 100k spans go to a dead receiver', async () => {
    const url = await closedPort();
    for (const spread of ['0', '1']) {
      const r = await runFixture(
        { RECEIVER_URL: url, FIX_SPANS: '100000', FIX_BATCH: '100', FIX_PAD: '1000', FIX_MEMORY: '1', FIX_SPREAD: spread, FIX_EXIT: 'natural' },
        ['--expose-gc'],
      );
      expect(r.code).toBe(0);
      const stats = JSON.parse(r.stdout.split('\n')[0]!) as { heapUsed: number; queued: number; sending: number; dropped: number };
      expect(stats.queued).toBeLessThanOrEqual(2048);
      expect(stats.sending).toBeLessThanOrEqual(2 * 512);
      // 100k spans of ~1 KB would be >100 MB if kept; the bounded queue holds ~2 MB.
      expect(stats.heapUsed).toBeLessThan(40 * 1024 * 1024);
      expect(r.stderr).toBe(`cti: dropped 100000 spans: receiver ${url}/v1/traces unreachable (ECONNREFUSED)\n`);
    }
  });

  it('takes a bigger queue from OTEL_BSP_MAX_QUEUE_SIZE for bursts', async () => {
    ok.spans = [];
    ok.requests = 0;
    const r = await runFixture({
      RECEIVER_URL: ok.url, OTEL_BSP_MAX_QUEUE_SIZE: '6000', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1000',
      FIX_SPANS: '5000', FIX_BATCH: '100', FIX_EXIT: 'natural',
    });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(ok.spans).toHaveLength(5000);
    expect(ok.requests).toBe(5);
  });

  it('says how to keep more when a burst overflows the default queue', async () => {
    ok.spans = [];
    const r = await runFixture({ RECEIVER_URL: ok.url, FIX_SPANS: '3000', FIX_BATCH: '100', FIX_EXIT: 'natural' });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`cti: dropped 952 spans: receiver ${ok.url}/v1/traces could not keep up: over 2048 spans waiting (raise OTEL_BSP_MAX_QUEUE_SIZE)\n`);
    expect(ok.spans).toHaveLength(2048);
  });

  it('does nothing when OTEL_SDK_DISABLED=true', async () => {
    const r = await runFixture({ RECEIVER_URL: ok.url, OTEL_SDK_DISABLED: 'true', FIX_EXIT: 'natural' });
    expect(r).toMatchObject({ code: 0, stdout: 'no exporter\n', stderr: '' });
  });
});

describe('OtlpHttpExporter in process', () => {
  it('flush() waits for delivery; partial success counts the rejected spans', async () => {
    const rcv = await startReceiver('ok');
    try {
      const lines: string[] = [];
      const e = new OtlpHttpExporter({ endpoint: `${rcv.url}/v1/traces`, report: (l) => lines.push(l), maxBatchSize: 3 });
      e.export([sampleSpan(), sampleSpan(), sampleSpan(), sampleSpan()]);
      await e.flush();
      expect(rcv.spans).toHaveLength(4);
      expect(rcv.requests).toBe(2);
      rcv.behaviour = 'partial';
      e.export([sampleSpan(), sampleSpan(), sampleSpan()]);
      await e.flush();
      e.flushSync();
      expect(lines).toEqual([`dropped 2 spans: receiver ${rcv.url}/v1/traces rejected spans: too old`]);
    } finally {
      await rcv.close();
    }
  });

  it('drops beyond the queue bound and never throws', async () => {
    const lines: string[] = [];
    const url = await closedPort();
    const e = new OtlpHttpExporter({ endpoint: `${url}/v1/traces`, maxQueueSize: 10, report: (l) => lines.push(l) });
    const spans = Array.from({ length: 25 }, () => sampleSpan());
    expect(() => e.export(spans)).not.toThrow();
    expect(e.queued).toBe(10);
    expect(e.drops.count).toBe(15);
    await e.flush();
    expect(e.drops.count).toBe(25);
    e.flushSync();
    expect(lines).toEqual([`dropped 25 spans: receiver ${url}/v1/traces unreachable (ECONNREFUSED)`]);
    // A flushSync() the program survived (a crash monitor) must not hide later drops.
    e.export([sampleSpan()]);
    await e.flush();
    e.flushSync();
    e.flushSync();
    expect(lines).toEqual([
      `dropped 25 spans: receiver ${url}/v1/traces unreachable (ECONNREFUSED)`,
      `dropped 1 more span: receiver ${url}/v1/traces unreachable (ECONNREFUSED)`,
    ]);
  });

  it('flush() gives up at the timeout when the receiver hangs', async () => {
    const hang = await startReceiver('hang');
    try {
      const e = new OtlpHttpExporter({ endpoint: `${hang.url}/v1/traces`, timeoutMs: 300, maxBatchSize: 1, report: () => {} });
      e.export(Array.from({ length: 10 }, () => sampleSpan()));
      const t = Date.now();
      await e.flush();
      expect(Date.now() - t).toBeLessThan(1500);
      expect(e.drops.count).toBe(10);
      expect(e.queued + e.sending).toBe(0);
    } finally {
      await hang.close();
    }
  });
});

describe('createExporters / installExitHooks', () => {
  it('returns null, a single exporter or a fan-out', () => {
    const base = { disabled: false, headers: {}, timeoutMs: 1000 };
    expect(createExporters(base)).toBeNull();
    expect(createExporters({ ...base, disabled: true, tracesFile: 'x' })).toBeNull();
    expect(createExporters({ ...base, tracesFile: join(tmp, 'one.jsonl') })).toBeInstanceOf(JsonlExporter);
    expect(createExporters({ ...base, endpoint: 'http://127.0.0.1:1/v1/traces' })).toBeInstanceOf(OtlpHttpExporter);
    const both = createExporters({ ...base, tracesFile: join(tmp, 'two.jsonl'), endpoint: 'http://127.0.0.1:1/v1/traces' });
    expect(both).not.toBeNull();
    expect(both).not.toBeInstanceOf(JsonlExporter);
    expect(both).not.toBeInstanceOf(OtlpHttpExporter);
  });

  it('writes JSONL and OTLP from one program, the drained spans included', async () => {
    const rcv = await startReceiver('ok');
    try {
      const file = join(tmp, 'fanout.jsonl');
      const r = await runFixture({ RECEIVER_URL: rcv.url, CTI_TRACES_FILE: file, FIX_SPANS: '55', FIX_BATCH: '20', FIX_EXIT: 'process-exit' });
      expect(r.code).toBe(0);
      expect(readFileSync(file, 'utf8').trimEnd().split('\n')).toHaveLength(55);
      expect(rcv.spans).toHaveLength(55);
    } finally {
      await rcv.close();
    }
  });

  it('installs and removes its listeners', () => {
    const before = [process.listenerCount('beforeExit'), process.listenerCount('exit')];
    const remove = installExitHooks({ export() {}, flushSync() {}, flush: async () => {} }, () => []);
    expect([process.listenerCount('beforeExit'), process.listenerCount('exit')]).toEqual([before[0]! + 1, before[1]! + 1]);
    remove();
    expect([process.listenerCount('beforeExit'), process.listenerCount('exit')]).toEqual(before);
  });
});
