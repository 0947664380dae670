/**
 * `code-telemetry-injector/runtime` for Node: what instrumented code imports. It reads the
 * environment once (docs/telemetry.md); with no exporter configured, or with
 * OTEL_SDK_DISABLED=true, every call returns at its first check.
 */
import { getRandomValues } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { inspect } from 'node:util';
import { configure, drain, uncaught, type Platform, type Span } from './core.js';
import { makeClock, toSpanData } from './encode.js';
import { readRuntimeEnv } from './env.js';
import { createExporters, installExitHooks } from './export/index.js';

export { enter, exit, ret, done, v, b, l, c, aw, rs, file, flush } from './core.js';

const INSPECT = {
  depth: 1,
  maxArrayLength: 10,
  breakLength: Infinity,
  compact: 3,
  // Never run the program's code to preview its values: no custom inspectors, no getters, no proxy traps.
  customInspect: false,
  getters: false,
  showProxy: true,
} as const;

function preview(value: object, limit: number): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return inspect(value, { ...INSPECT, maxStringLength: limit });
}

const platform: Platform = {
  now: () => performance.now(),
  timeOrigin: performance.timeOrigin,
  fillRandom: (out) => void getRandomValues(out),
  preview,
  later: (fn, ms) => void setTimeout(fn, ms).unref(),
};

const env = readRuntimeEnv();
const exporter = createExporters(env);

if (exporter !== null) {
  const clock = makeClock(platform.timeOrigin);
  const { sampler } = env;
  configure({
    platform,
    sink: (spans: Span[]) => exporter.export(spans.map((s) => toSpanData(s, clock, env.resource))),
    sampleRoot: sampler.kind === 'always_on' ? () => true : sampler.kind === 'always_off' ? () => false : () => Math.random() < sampler.ratio,
    eventLimit: env.eventLimit,
    valueLimit: env.valueLimit,
  });
  installExitHooks(exporter, () => {
    drain();
    return [];
  });
  // Observes a crash without changing it: the spans that threw learn what; the 'exit' hook sends them.
  process.on('uncaughtExceptionMonitor', (error) => {
    uncaught(error);
    drain();
  });
}
