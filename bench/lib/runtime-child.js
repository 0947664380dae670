// One runtime configuration per process (spawned by bench/run.js), so runtimes, JIT state and
// garbage do not leak from one configuration into another.
//
//   node bench/lib/runtime-child.js <config> <calls> <reps> <workDir>
//
// Prints one JSON line: { config, calls, ns: [per-call wall-clock ns of each timed repetition],
// cpuNs: [the same in process CPU time], spansChecked, spanBytes }.
import { closeSync, openSync, readSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const [config, callsArg, repsArg, workDir] = process.argv.slice(2);
const CALLS = Number(callsArg);
const REPS = Number(repsArg);
// The cti build under test: bench/run.js passes a snapshot of dist/ (BENCH_CTI_ROOT).
const ROOT = process.env.BENCH_CTI_ROOT ?? resolve(fileURLToPath(new URL('../..', import.meta.url)));
const RUNTIME_DIR = join(ROOT, 'dist/runtime');
const importFile = (path) => import(pathToFileURL(path).href);

// Every configuration runs the same driver: calls in chunks of CHUNK, yielding to the event
// loop between chunks. The yield is needed by the SDK's BatchSpanProcessor (its "exporting"
// flag is only cleared in a promise callback; a never-yielding loop would make it drop spans
// cheaply after 2048), and it is paid by the baseline too, so it cancels out.
const CHUNK = 1000;
const tick = () => new Promise((r) => setImmediate(r));

let add;
let afterLoop = async () => {};
let count = () => null;
let resetBetweenReps = () => {};

if (config === 'baseline') {
  ({ add } = await importFile(join(workDir, 'add.plain.mjs')));
} else if (config.startsWith('cti-')) {
  if (config === 'cti-discard') {
    // Hot path only: the runtime's own core, configured as dist/runtime/node.js configures it
    // (the same platform object: clock, ids, previews), but with a sink that drops the finished
    // spans (no encoding, no write). configure() is internal, not a public API: the runtime has
    // no setting for a discarding exporter.
    const core = await importFile(join(RUNTIME_DIR, 'core.js'));
    const { platform } = await importFile(join(RUNTIME_DIR, 'node-platform.js'));
    let spans = 0;
    core.configure({
      platform,
      sink: (batch) => {
        spans += batch.length;
      },
      sampleRoot: () => true,
    });
    count = () => spans;
    resetBetweenReps = () => {
      spans = 0;
    };
  }
  ({ add } = await importFile(join(workDir, 'add.cti.mjs')));
  // The runtime batches 512 spans per sink call; flush() hands over the rest, inside the timing.
  const runtime = await importFile(join(RUNTIME_DIR, 'node.js'));
  afterLoop = async () => runtime.flush();
  if (config === 'cti-jsonl') {
    const file = process.env.CTI_TRACES_FILE;
    resetBetweenReps = () => {
      try {
        truncateSync(file, 0);
      } catch {
        // Not created yet.
      }
    };
    count = () => countLines(file);
  }
} else if (config.startsWith('otel-')) {
  let resetFile = () => {};
  const { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  let exported = 0;
  // An exporter that drops what it is given (ExportResultCode.SUCCESS is 0); the -file
  // variant first does what an OTLP/HTTP JSON exporter does (JsonTraceSerializer), and writes
  // the bytes to a file, like cti's JSONL exporter.
  let write = null;
  if (config.endsWith('-file')) {
    const { JsonTraceSerializer } = await import('@opentelemetry/otlp-transformer');
    const file = join(workDir, 'otel-spans.json');
    const fd = openSync(file, 'w');
    write = (spans) => {
      const bytes = JsonTraceSerializer.serializeRequest(spans);
      writeSync(fd, bytes);
    };
    resetFile = () => truncateSync(file, 0);
  }
  const exporter = {
    export(spans, done) {
      exported += spans.length;
      if (write !== null) write(spans);
      done({ code: 0 });
    },
    shutdown: () => Promise.resolve(),
    forceFlush: () => Promise.resolve(),
  };
  const processor = config.includes('simple') ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('cti-bench');
  const plain = (a, b) => a + b;
  if (config.includes('-attrs')) {
    // What cti records: the arguments and the return value (cti.arg.*, cti.return).
    add = (a, b) => {
      const span = tracer.startSpan('add', { attributes: { 'cti.arg.a': a, 'cti.arg.b': b } });
      try {
        const r = plain(a, b);
        span.setAttribute('cti.return', r);
        return r;
      } finally {
        span.end();
      }
    };
  } else {
    add = (a, b) => {
      const span = tracer.startSpan('add');
      try {
        return plain(a, b);
      } finally {
        span.end();
      }
    };
  }
  afterLoop = () => provider.forceFlush();
  count = () => exported;
  resetBetweenReps = () => {
    exported = 0;
    resetFile();
  };
} else {
  throw new Error(`unknown configuration ${config}`);
}

function chunk(from, n) {
  let sum = 0;
  for (let i = from; i < from + n; i++) sum += add(i, 1);
  return sum;
}

async function loop(calls) {
  let sum = 0;
  for (let done = 0; done < calls; done += CHUNK) {
    sum += chunk(done, Math.min(CHUNK, calls - done));
    await tick();
  }
  return sum;
}

function countLines(file) {
  let lines = 0;
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
      for (let i = buf.indexOf(10, 0); i !== -1 && i < n; i = buf.indexOf(10, i + 1)) lines++;
    }
  } finally {
    closeSync(fd);
  }
  return lines;
}

// The expected sum, so that a broken configuration is noticed instead of timed.
const expected = (n) => (n * (n - 1)) / 2 + n;

// Warm-up: the same loop, untimed, to let the JIT settle.
const warm = Math.min(CALLS, 200_000);
if ((await loop(warm)) !== expected(warm)) throw new Error('wrong sum in warm-up');
await afterLoop();

const ns = [];
const cpuNs = [];
let check = null;
let spanBytes = null;
for (let r = 0; r < REPS; r++) {
  resetBetweenReps();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const sum = await loop(CALLS);
  await afterLoop();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  // CPU time of the whole process (all threads: GC helpers included), less sensitive than wall
  // time to other processes competing for the cores.
  cpuNs.push(((cpu.user + cpu.system) * 1e3) / CALLS);
  if (sum !== expected(CALLS)) throw new Error(`wrong sum ${sum}`);
  ns.push((ms * 1e6) / CALLS);
  // Outside the timing: every call must have produced exactly one span.
  const c = count();
  if (c !== null) {
    check = c;
    if (c !== CALLS) throw new Error(`${config}: expected ${CALLS} spans, got ${c}`);
  }
  if (config === 'cti-jsonl') spanBytes = statSync(process.env.CTI_TRACES_FILE).size / CALLS;
}
resetBetweenReps();
process.stdout.write(`${JSON.stringify({ config, calls: CALLS, ns, cpuNs, spansChecked: check, spanBytes })}\n`);
