import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importJsonl } from '../../server/jsonl-import.js';
import { startServer, type RunningServer } from '../../server/serve.js';
import type { TraceStore } from '../../server/store.js';
import type { CliIo, RegisterCommand } from '../context.js';
import { CliError } from '../context.js';
import { main } from '../main.js';
import { callDetail, spanTree } from '../span-tree.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SAMPLE = join(REPO, 'playground/node-sample');
const PLAYGROUND = join(REPO, 'playground/vite-app');
const PY_SAMPLE = join(REPO, 'playground/python-sample');
const GO_SAMPLE = join(REPO, 'playground/go-sample');
const RUNTIME = fileURLToPath(new URL('../../runtime/node.js', import.meta.url));
const CTI_GO = join(REPO, 'bin/cti-go');
const NODE_SERVICE = 'cti-node-sample';
const PLAYGROUND_SERVICE = 'cti-playground';
const PY_SERVICE = 'cti-python-sample';
const GO_SERVICE = 'cti-go-sample';

/** The default port, or any free one when it is taken (another receiver already runs there). */
async function serve(port: number, data: string): Promise<RunningServer> {
  const options = { host: '127.0.0.1', data, root: REPO, sourceRoots: { [NODE_SERVICE]: SAMPLE, [PLAYGROUND_SERVICE]: PLAYGROUND, [PY_SERVICE]: PY_SAMPLE, [GO_SERVICE]: GO_SAMPLE } };
  try {
    return await startServer({ ...options, port });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw e;
    return startServer({ ...options, port: 0 });
  }
}

/** Runs a sample program; its output goes to ours. Async: this process serves the receiver it posts to. */
function runProgram(io: CliIo, command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => io.stdout.write(d));
    child.stderr.on('data', (d) => io.stderr.write(d));
    child.on('error', () => resolve(127));
    child.on('close', (status) => resolve(status ?? 1));
  });
}

/** The environment a sample runs in: spans to the embedded receiver only. */
function sampleEnv(io: CliIo, url: string, service: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...io.env, OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_SERVICE_NAME: service };
  delete env.CTI_TRACES_FILE;
  delete env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  return env;
}

/** Runs a cti command with its output held back; shown only when it fails. */
async function quietly(io: CliIo, args: string[], what: string): Promise<void> {
  let text = '';
  const sink = { write: (s: string | Uint8Array) => { text += String(s); return true; } } as unknown as NodeJS.WritableStream;
  const code = await main(args, { ...io, stdout: sink, stderr: sink });
  if (code !== 0) throw new CliError(`${what} failed (exit ${code}): ${text.trim()}`, 1);
}

/** Instruments the Node sample and runs it, its spans posted to the embedded receiver. */
async function runNodeSample(io: CliIo, work: string, url: string): Promise<number> {
  const out = join(work, 'node-sample');
  await quietly(io, ['instrument', SAMPLE, '--out', out, '--root', SAMPLE, '--runtime', RUNTIME, '--no-cache'], 'instrumenting the Node sample');
  io.stdout.write(`\n== Node sample (${SAMPLE}), instrumented into ${out}\n$ OTEL_EXPORTER_OTLP_ENDPOINT=${url} node src/app.js\n`);
  return runProgram(io, process.execPath, ['--enable-source-maps', join(out, 'src/app.js')], out, sampleEnv(io, url, NODE_SERVICE));
}

/** The Python sample under the import hook (skipped without python3). */
async function runPythonSample(io: CliIo, work: string, url: string): Promise<void> {
  const hook = join(work, 'py-hook');
  await quietly(io, ['py', 'hook', '--root', PY_SAMPLE, '--out', hook], 'preparing the Python hook');
  io.stdout.write(`\n== Python sample (${PY_SAMPLE}), through the import hook in ${hook}\n$ PYTHONPATH=${hook} OTEL_EXPORTER_OTLP_ENDPOINT=${url} python3 app.py\n`);
  const status = await runProgram(io, 'python3', ['app.py'], PY_SAMPLE, { ...sampleEnv(io, url, PY_SERVICE), PYTHONPATH: hook });
  if (status === 127) io.stdout.write('(skipped: python3 is not installed)\n');
}

/**
 * The Go sample built with `-toolexec cti-go` (skipped without go). The Go runtime writes JSONL
 * only, so its spans are imported into the store after the run.
 */
async function runGoSample(io: CliIo, work: string, store: TraceStore): Promise<void> {
  const binary = join(work, 'go-sample');
  const spans = join(work, 'go-spans.jsonl');
  io.stdout.write(`\n== Go sample (${GO_SAMPLE}), built with -toolexec cti-go\n$ go build -toolexec ${CTI_GO} -o ${binary} . && CTI_TRACES_FILE=${spans} ${binary}\n`);
  const quietIo = { ...io, stdout: { write: () => true } as unknown as NodeJS.WritableStream };
  const built = await runProgram(quietIo, 'go', ['build', '-toolexec', CTI_GO, '-o', binary, '.'], GO_SAMPLE, io.env);
  if (built === 127) return void io.stdout.write('(skipped: go is not installed)\n');
  if (built !== 0) throw new CliError(`building the Go sample failed (exit ${built})`, 1);
  const env: NodeJS.ProcessEnv = { ...io.env, CTI_TRACES_FILE: spans, OTEL_SERVICE_NAME: GO_SERVICE };
  await runProgram(io, binary, [], GO_SAMPLE, env);
  await importJsonl(spans, store);
}

/** Builds the Vite playground with the plugin, to be served by the receiver at /playground/. */
async function buildPlayground(io: CliIo, work: string): Promise<string | null> {
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    io.stdout.write('\n== Vite playground: skipped (vite is not installed; run `npm ci` in the repository)\n');
    return null;
  }
  const outDir = join(work, 'playground');
  // The page posts to /__cti/v1/traces on its own origin: the embedded receiver.
  const env = { ...process.env };
  delete process.env.CTI_ENDPOINT;
  delete process.env.CTI_DISABLE;
  try {
    await vite.build({ root: PLAYGROUND, base: '/playground/', logLevel: 'silent', build: { outDir, emptyOutDir: true } });
  } finally {
    Object.assign(process.env, env);
  }
  return outDir;
}

interface DemoFlags { port: string; exit?: boolean }

/**
 * `cti demo`: the sample programs instrumented and run against an embedded `cti serve`, a short
 * summary, and the viewer kept open until Ctrl-C.
 */
export const registerDemo: RegisterCommand = (program, ctx) => {
  program
    .command('demo')
    .description('instrument and run the sample programs, send their spans to an embedded cti serve, print a summary and serve the viewer until Ctrl-C')
    .option('--port <n>', 'port of the embedded receiver and viewer (taken: any free port)', '4318')
    .option('--exit', 'stop after the summary instead of serving')
    .action(async (flags: DemoFlags) => {
      const { io } = ctx;
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port ${flags.port}: not a port number`);
      const work = mkdtempSync(join(tmpdir(), 'cti-demo-'));
      const server = await serve(port, join(work, 'data'));
      try {
        io.stdout.write(`cti demo: receiver and viewer at ${server.url} (data in ${join(work, 'data')})\n`);
        const status = await runNodeSample(io, work, server.url);
        await runPythonSample(io, work, server.url);
        await runGoSample(io, work, server.store);
        const traces = server.store.traces({ service: NODE_SERVICE });
        if (!traces.length) throw new CliError(`the sample's spans did not arrive (exit ${status})`, 1);
        const spans = traces.flatMap((t) => server.store.trace(t.trace_id));
        const errors = traces.reduce((n, t) => n + t.error_count, 0);
        io.stdout.write(`\n${spans.length} spans in ${traces.length} trace(s), ${errors} ending in an error:\n\n`);
        io.stdout.write(`${spanTree(spans, { detail: (s) => `  ${callDetail(s)}` })}\n`);
        for (const [label, service] of [['Python', PY_SERVICE], ['Go', GO_SERVICE]]) {
          const found = server.store.traces({ service });
          if (found.length) io.stdout.write(`\n${label} sample: ${found.reduce((n, t) => n + t.span_count, 0)} spans in ${found.length} trace(s), ${found.reduce((n, t) => n + t.error_count, 0)} ending in an error.\n`);
        }
        const site = await buildPlayground(io, work);
        if (site) {
          server.addStatic('/playground/', site);
          io.stdout.write(`\n== Vite playground (${PLAYGROUND}), built with the plugin: open ${server.url}/playground/ and click around; its spans arrive live\n`);
        }
        io.stdout.write(`\nViewer: ${server.url}/  (trace ${traces[0]!.trace_id}: ${server.url}/#trace=${traces[0]!.trace_id})\n`);
        io.stdout.write(`In a terminal: cti show ${traces[0]!.trace_id} --data ${join(work, 'data')}\n`);
        ctx.exitCode = status;
        if (flags.exit) return;
        io.stdout.write('Serving until Ctrl-C.\n');
        await new Promise<void>((done) => {
          process.once('SIGINT', () => done());
          process.once('SIGTERM', () => done());
        });
      } finally {
        await server.close();
      }
    });
};
