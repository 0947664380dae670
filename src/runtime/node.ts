/**
 * `code-telemetry-injector/runtime` for Node: what instrumented code imports. It reads the
 * environment once (docs/telemetry.md); with no exporter configured, or with
 * OTEL_SDK_DISABLED=true, every call returns at its first check.
 */
import { configure, drain, endRunningSpans, flushEachSpan, uncaught, type Span } from './core.js';
import { platform } from './node-platform.js';
import { makeClock, spanJsonLine, toSpanData } from './encode.js';
import { readRuntimeEnv } from './env.js';
import { createExporters, installExitHooks, JsonlExporter } from './export/index.js';

export { enter, exit, ret, done, v, b, l, c, aw, fa, y, rs, ft, fe, file, flush } from './core.js';

const env = readRuntimeEnv();
// JSONL gets the fast encoder; OTLP takes span objects.
const jsonl = env.disabled || !env.tracesFile ? null : new JsonlExporter(env.tracesFile);
const otlp = createExporters({ ...env, tracesFile: undefined });

if (jsonl !== null || otlp !== null) {
  const clock = makeClock(platform.timeOrigin);
  const resourceJson = JSON.stringify(env.resource);
  const { sampler } = env;
  configure({
    platform,
    sink: (spans: Span[]) => {
      if (jsonl !== null) jsonl.appendLines(spans.map((s) => spanJsonLine(s, clock, resourceJson)));
      if (otlp !== null) otlp.export(spans.map((s) => toSpanData(s, clock, env.resource)));
    },
    sampleRoot: sampler.kind === 'always_on' ? () => true : sampler.kind === 'always_off' ? () => false : () => Math.random() < sampler.ratio,
    scheduleDelayMs: env.scheduleDelayMs,
    eventLimit: env.eventLimit,
    valueLimit: env.valueLimit,
  });
  const drainAll = () => {
    drain();
    return [];
  };
  process.on('exit', endRunningSpans);
  for (const exporter of [jsonl, otlp]) if (exporter !== null) installExitHooks(exporter, drainAll);
  // Registered after the exit hooks, so it runs after them and before the program's own
  // 'exit' listeners (the program's code runs after this module). JSONL writes what those
  // listeners' calls produce; OTLP cannot send anything that late.
  process.on('exit', flushEachSpan);
  // Observes a crash without changing it: the spans that threw learn what; the 'exit' hook sends them.
  process.on('uncaughtExceptionMonitor', (error) => {
    uncaught(error);
    drain();
  });
}
