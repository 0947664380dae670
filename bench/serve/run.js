// `cti serve` benchmark: sustained ingestion (spans/s, every span stored) and query latency.
//
//   npm run build && node bench/serve/run.js [--spans 200000] [--batch 512] [--concurrency 4]
//
// Starts `cti serve` as its own process on an empty data directory, posts OTLP/HTTP bodies as
// our exporters send them (JSON, and protobuf in a second pass on a fresh store), `concurrency`
// requests in flight, and counts the stored spans afterwards (no span may be lost). Then one
// trace of 10,000 spans is posted and `GET /api/traces/<id>` and `GET /api/traces` are timed.
// The server's CPU time is read from /proc: spans per server CPU-second is the figure that holds
// on a loaded machine, where wall-clock throughput only shows the share of a core it got.
// Writes bench/serve/results.json.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { gitRev } from '../lib/git-rev.js';
import { loadAverage, machineInfo, round } from '../lib/machine.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({ options: { spans: { type: 'string', default: '200000' }, batch: { type: 'string', default: '512' }, concurrency: { type: 'string', default: '4' } } });
const TOTAL = Number(values.spans);
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);
const { toOtlpJson } = await import(pathToFileURL(join(REPO, 'dist/runtime/export/otlp-json.js')).href);
const { ExportTraceServiceRequest } = await import(pathToFileURL(join(REPO, 'dist/server/otlp-proto.js')).href);

const hex = (n, width) => n.toString(16).padStart(width, '0');

/** A span like the instrumenters emit: code attributes, two args, a return, three events. */
function span(i, traceOf = (k) => Math.floor(k / 25) + 1) {
  const t = 1_764_000_000_000_000_000n + BigInt(i) * 1000n;
  return {
    trace_id: hex(traceOf(i), 32), span_id: hex(i + 1, 16), parent_span_id: i % 25 === 0 ? null : hex(i - (i % 25) + 1, 16),
    name: `Service.method${i % 40}`, start_time_unix_nano: String(t), end_time_unix_nano: String(t + 800n),
    attributes: { 'code.function.name': `Service.method${i % 40}`, 'code.file.path': 'src/service.js', 'code.line.number': 10 + (i % 40), 'cti.lang': 'javascript', 'cti.arg.id': String(i), 'cti.arg.opts': "{ retry: true, timeout: 250 }", 'cti.return': "'ok'" },
    events: [
      { name: 'cti.var', time_unix_nano: String(t + 100n), attributes: { 'cti.var.name': 'total', 'cti.var.value': String(i * 3), 'code.line.number': 12 } },
      { name: 'cti.branch', time_unix_nano: String(t + 200n), attributes: { 'cti.branch.kind': 'if', 'code.line.number': 13 } },
      { name: 'cti.loop', time_unix_nano: String(t + 300n), attributes: { 'cti.loop.kind': 'for-of', 'code.line.number': 14, 'cti.loop.iterations': 3 } },
    ],
    dropped_events_count: 0, status: { code: i % 50 === 7 ? 'ERROR' : 'OK' }, resource: { 'service.name': 'bench', 'telemetry.sdk.language': 'nodejs' },
  };
}

function protobuf(spans) {
  const json = toOtlpJson(spans);
  for (const rs of json.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) {
    for (const k of ['traceId', 'spanId', 'parentSpanId']) if (typeof s[k] === 'string') s[k] = Buffer.from(s[k], 'hex');
  }
  return Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(json)).finish());
}

async function startServe() {
  const data = mkdtempSync(join(tmpdir(), 'cti-bench-serve-'));
  const child = spawn(process.execPath, [join(REPO, 'bin/cti.js'), 'serve', '--port', '0', '--data', data], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  for (const deadline = Date.now() + 20_000; !/viewer at (http:\/\/\S+)\//.test(out);) {
    if (Date.now() > deadline) throw new Error(`cti serve did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /viewer at (http:\/\/\S+)\//.exec(out)[1];
  return { url, cpuSeconds: () => cpuSeconds(child.pid), stop: async () => { child.kill('SIGTERM'); await new Promise((r) => child.on('close', r)); rmSync(data, { recursive: true, force: true }); } };
}

/** CPU seconds (user + system) a process has used so far: /proc/<pid>/stat, in clock ticks of 10 ms. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function ingest(encoding) {
  const server = await startServe();
  // Bodies are encoded before the clock starts: the receiver is measured, not the client.
  const bodies = [];
  for (let i = 0; i < TOTAL; i += BATCH) {
    const spans = Array.from({ length: Math.min(BATCH, TOTAL - i) }, (_, k) => span(i + k));
    bodies.push(encoding === 'json' ? Buffer.from(JSON.stringify(toOtlpJson(spans))) : protobuf(spans));
  }
  const type = encoding === 'json' ? 'application/json' : 'application/x-protobuf';
  let next = 0;
  let failed = 0;
  const cpu0 = server.cpuSeconds();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const r = await fetch(`${server.url}/v1/traces`, { method: 'POST', headers: { 'content-type': type }, body });
      await r.arrayBuffer();
      if (r.status !== 200) failed++;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = server.cpuSeconds() - cpu0;
  const stats = await (await fetch(`${server.url}/api/stats`)).json();
  await server.stop();
  return { encoding, spans: TOTAL, batch: BATCH, concurrency: CONCURRENCY, bodyBytesAvg: Math.round(bodies.reduce((a, b) => a + b.length, 0) / bodies.length), failedRequests: failed, spansStored: stats.spans, tracesStored: stats.traces, seconds: round(seconds, 3), spansPerSecond: Math.round(TOTAL / seconds), serverCpuSeconds: round(cpu, 2), spansPerServerCpuSecond: Math.round(TOTAL / cpu) };
}

async function queries() {
  const server = await startServe();
  const spans = Array.from({ length: 10_000 }, (_, i) => span(i, () => 0xbeef));
  for (let i = 0; i < spans.length; i += 1000) {
    await fetch(`${server.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(toOtlpJson(spans.slice(i, i + 1000))) });
  }
  const time = async (path, reps = 20) => {
    const ms = [];
    let size = 0;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const body = await (await fetch(`${server.url}${path}`)).text();
      ms.push(performance.now() - t0);
      size = body.length;
    }
    ms.sort((a, b) => a - b);
    return { medianMs: round(ms[Math.floor(reps / 2)], 1), minMs: round(ms[0], 1), responseBytes: size };
  };
  const trace = await time(`/api/traces/${hex(0xbeef, 32)}`);
  const list = await time('/api/traces?limit=100');
  const byName = await time('/api/traces?name=method7&limit=100');
  await server.stop();
  return { traceOf10000Spans: trace, listNewest100: list, listByFunctionName: byName };
}

const results = {
  machine: machineInfo(),
  commit: gitRev(REPO),
  ingestion: [await ingest('json'), await ingest('protobuf')],
  queries: await queries(),
  loadAverageAtEnd: loadAverage(),
};
writeFileSync(join(REPO, 'bench/serve/results.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(JSON.stringify(results, null, 2));
