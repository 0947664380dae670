/**
 * Interop with a real backend: Jaeger, built from the Go module proxy (tests/interop/jaeger-build.ts,
 * run by the global setup), receives the spans of an instrumented program through our OTLP/HTTP
 * exporter, and its query API must give back the same spans, parent links, attributes, events and
 * statuses that the same run wrote to its CTI_TRACES_FILE.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeOtlpJson } from '../src/server/otlp-decode.js';
import { SDK_NAME, VERSION } from '../src/runtime/export/version.js';
import type { SpanData } from '../src/runtime/span-data.js';
import { REPO, runBoth, type BothResult } from './helpers/run-both.js';
import { ensureJaeger, JAEGER_VERSION } from './interop/jaeger-build.js';
import { diffJaegerTrace, type JaegerSpan, type JaegerTrace } from './interop/jaeger-compare.js';
import { startJaeger, type Jaeger } from './interop/jaeger-server.js';

const SCOPE = { name: SDK_NAME, version: VERSION };
const SOURCE = readFileSync(join(REPO, 'tests/conformance/programs/program.mjs'), 'utf8');
const SPEC = JSON.parse(readFileSync(join(REPO, 'tests/conformance/spec.json'), 'utf8')) as { tree: Expected[] };
interface Expected { name: string; args?: Record<string, string>; return?: string; status?: string; exception?: string; children?: Expected[] }

let jaeger: Jaeger;

/** Runs program.mjs instrumented, exporting both to JSONL and to Jaeger over OTLP/HTTP. */
async function runProgram(env: Record<string, string>): Promise<BothResult> {
  const r = await runBoth({ 'program.mjs': SOURCE }, 'program.mjs', { env });
  expect(r.instrumented).toEqual(r.original);
  expect(r.instrumented.stderr).not.toMatch(/dropped/);
  expect(r.spans).toHaveLength(7);
  expect(new Set(r.spans.map((s) => s.trace_id)).size).toBe(1);
  return r;
}

async function getJson(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${jaeger.queryUrl}${path}`);
  return { status: res.status, body: res.status === 200 ? await res.json() : await res.text() };
}

/** GET /api/traces/<id>, waiting (briefly) until Jaeger has stored as many spans as we sent. */
async function jaegerTrace(traceId: string, count: number): Promise<JaegerTrace> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await getJson(`/api/traces/${traceId}`);
    const trace = r.status === 200 ? (r.body.data as JaegerTrace[])[0] : undefined;
    if ((trace && trace.spans.length >= count) || Date.now() > deadline) {
      expect(trace, `GET /api/traces/${traceId} answered ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`).toBeDefined();
      return trace!;
    }
    await new Promise((res) => setTimeout(res, 200));
  }
}

const tagOf = (s: JaegerSpan, key: string) => s.tags?.find((t) => t.key === key)?.value;

/** Walks the spec's span tree over Jaeger's spans, linked only by their CHILD_OF references. */
function checkTree(expected: Expected[], actual: JaegerSpan[], all: JaegerSpan[], path: string) {
  expect(actual.map((s) => s.operationName), `${path}: children`).toEqual(expected.map((e) => e.name));
  expected.forEach((e, i) => {
    const s = actual[i]!;
    const where = `${path}/${e.name}[${i}]`;
    const line = SOURCE.split('\n').findIndex((l) => l.startsWith(`function ${e.name}(`)) + 1;
    expect(tagOf(s, 'code.function.name'), `${where}: code.function.name`).toBe(e.name);
    expect(tagOf(s, 'code.line.number'), `${where}: code.line.number`).toBe(line);
    expect(tagOf(s, 'otel.status_code'), `${where}: status`).toBe(e.status ?? 'OK');
    expect(tagOf(s, 'error'), `${where}: error tag`).toBe(e.status === 'ERROR' ? true : undefined);
    for (const [k, v] of Object.entries(e.args ?? {})) expect(tagOf(s, `cti.arg.${k}`), `${where}: arg ${k}`).toBe(v);
    if (e.return !== undefined) expect(tagOf(s, 'cti.return'), `${where}: return`).toBe(e.return);
    const exceptions = (s.logs ?? []).filter((l) => l.fields.some((f) => f.key === 'event' && f.value === 'exception'));
    const messages = exceptions.map((l) => l.fields.find((f) => f.key === 'exception.message')?.value);
    expect(messages, `${where}: exception logs`).toEqual(e.exception ? [e.exception] : []);
    const kids = all
      .filter((c) => c.references?.some((r) => r.refType === 'CHILD_OF' && r.spanID === s.spanID))
      .sort((a, b) => a.startTime - b.startTime);
    checkTree(e.children ?? [], kids, all, where);
  });
}

describe(`interop: Jaeger ${JAEGER_VERSION} (built from the Go module proxy) accepts our OTLP/HTTP export`, () => {
  let run: BothResult;
  let sent: SpanData[];
  let traceId: string;
  let trace: JaegerTrace;

  beforeAll(async () => {
    // Built by the global setup (tests/setup/jaeger.ts); this only finds the cached binary.
    const binary = await ensureJaeger();
    const dir = join(REPO, 'tests/.tmp/interop-jaeger');
    rmSync(dir, { recursive: true, force: true });
    jaeger = await startJaeger(binary, dir);
    run = await runProgram({ OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpUrl, OTEL_SERVICE_NAME: 'cti-interop' });
    sent = run.spans;
    traceId = sent[0]!.trace_id;
    trace = await jaegerTrace(traceId, sent.length);
  }, 120_000);

  afterAll(async () => {
    await jaeger?.stop();
  });

  it('returns every span as sent: name, CHILD_OF parent, times, attributes, events as logs, status, resource', () => {
    expect(trace.traceID).toBe(traceId);
    expect(diffJaegerTrace(sent, trace, SCOPE)).toEqual([]);
  });

  it('gives back the conformance span tree through its references alone', () => {
    const roots = trace.spans.filter((s) => (s.references ?? []).length === 0);
    checkTree(SPEC.tree, roots, trace.spans, 'jaeger');
  });

  it('lists the service and operations and finds the trace by its error tag', async () => {
    expect((await getJson('/api/services')).body.data).toContain('cti-interop');
    expect((await getJson('/api/services/cti-interop/operations')).body.data.sort()).toEqual(['classify', 'risky', 'run', 'total']);
    const query = `/api/traces?service=cti-interop&operation=risky&tags=${encodeURIComponent('{"error":"true"}')}&limit=20`;
    const found = (await getJson(query)).body.data as JaegerTrace[];
    expect(found.map((t) => t.traceID)).toEqual([traceId]);
  });

  it('returns the spans through the OTLP-shaped v3 API unchanged, to the nanosecond', async () => {
    const r = await getJson(`/api/v3/traces/${traceId}`);
    expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(200);
    // Jaeger sorts events by name; the multiset of events must be the same.
    const norm = (spans: SpanData[]) => spans
      .map((s) => ({ ...s, events: [...s.events].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) }))
      .sort((a, b) => a.span_id.localeCompare(b.span_id));
    expect(norm(decodeOtlpJson(r.body.result))).toEqual(norm(sent));
  });

  it('takes OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL) as well', async () => {
    const other = await runProgram({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${jaeger.otlpUrl}/v1/traces`, OTEL_SERVICE_NAME: 'cti-interop-traces-endpoint' });
    const t = await jaegerTrace(other.spans[0]!.trace_id, other.spans.length);
    expect(diffJaegerTrace(other.spans, t, SCOPE)).toEqual([]);
  });

  it('the comparison catches a wrong parent, attribute, event or status', () => {
    const tamper = (edit: (t: JaegerTrace) => void) => {
      const copy = structuredClone(trace);
      edit(copy);
      return diffJaegerTrace(sent, copy, SCOPE);
    };
    const child = (t: JaegerTrace) => t.spans.find((s) => s.operationName === 'total')!;
    const risky = (t: JaegerTrace) => t.spans.find((s) => tagOf(s, 'error') === true)!;
    expect(tamper((t) => { child(t).references![0]!.spanID = risky(t).spanID; })).toEqual([expect.stringMatching(/total .*references/)]);
    expect(tamper((t) => { child(t).tags!.find((x) => x.key === 'code.line.number')!.value = 12; })).toEqual([expect.stringMatching(/total .*tags/)]);
    expect(tamper((t) => { child(t).logs!.pop(); })).toEqual([expect.stringMatching(/total .*logs/)]);
    expect(tamper((t) => { risky(t).tags = risky(t).tags!.filter((x) => x.key !== 'error'); })).toEqual([expect.stringMatching(/risky .*tags/)]);
    expect(tamper((t) => { t.spans.pop(); })).toEqual([expect.stringMatching(/missing in Jaeger/)]);
  });
});
