/**
 * Runs a built Jaeger v2 on loopback: OTLP/HTTP receiver → in-memory store → query API, nothing
 * else (no sampling, health or metrics servers). All ports are free ones picked here, so several
 * test runs on one machine do not collide with each other or with a Jaeger on the default ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface Jaeger {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:40123 */
  otlpUrl: string;
  /** Base URL of the query service (/api/traces/<id>, /api/v3/...). */
  queryUrl: string;
  /** Jaeger's own log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** `count` distinct free loopback ports (held open together so they differ, then released). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function config(otlp: number, http: number, grpc: number): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 1000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${http}
    grpc:
      endpoint: 127.0.0.1:${grpc}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlp}
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

async function ready(url: string, init?: RequestInit): Promise<boolean> {
  try {
    return (await fetch(url, { ...init, signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/** Starts `binary` with a config in `dir` and resolves once both the receiver and the query API answer. */
export async function startJaeger(binary: string, dir: string, timeoutMs = 60_000): Promise<Jaeger> {
  mkdirSync(dir, { recursive: true });
  const [otlp, http, grpc] = (await freePorts(3)) as [number, number, number];
  writeFileSync(join(dir, 'config.yaml'), config(otlp, http, grpc));
  const logPath = join(dir, 'jaeger.log');
  const logFd = openSync(logPath, 'w');
  const child: ChildProcess = spawn(binary, ['--config', join(dir, 'config.yaml')], { stdio: ['ignore', logFd, logFd] });
  const log = () => { try { return readFileSync(logPath, 'utf8'); } catch { return ''; } };
  let exited: string | null = null;
  child.on('exit', (code, signal) => { exited = `exited with ${signal ?? code}`; });
  const jaeger: Jaeger = {
    otlpUrl: `http://127.0.0.1:${otlp}`,
    queryUrl: `http://127.0.0.1:${http}`,
    log,
    stop: () => new Promise((resolve) => {
      if (exited !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }),
  };
  // An empty export request is valid OTLP: 200 means the receiver is up.
  const emptyExport = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resourceSpans":[]}' };
  const deadline = Date.now() + timeoutMs;
  while (!(await ready(`${jaeger.queryUrl}/api/services`)) || !(await ready(`${jaeger.otlpUrl}/v1/traces`, emptyExport))) {
    if (exited !== null || Date.now() > deadline) {
      await jaeger.stop();
      throw new Error(`Jaeger did not come up (${exited ?? `not ready after ${timeoutMs} ms`}). Its log:\n${log().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return jaeger;
}
