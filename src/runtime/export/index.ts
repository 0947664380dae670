import type { SpanData, SpanExporter } from '../span-data.js';
import type { RuntimeEnv } from '../env.js';
import { JsonlExporter } from './jsonl.js';
import { OtlpHttpExporter } from './otlp-http.js';

export { JsonlExporter } from './jsonl.js';
export { OtlpHttpExporter, type OtlpHttpOptions } from './otlp-http.js';
export { toOtlpJson, type OtlpTraceRequest } from './otlp-json.js';
export { readRuntimeEnv, type RuntimeEnv, type SamplerConfig } from '../env.js';

/** Sends every batch to each exporter; one failing never affects the others. */
class FanOut implements SpanExporter {
  constructor(readonly exporters: SpanExporter[]) {}

  export(batch: SpanData[]): void {
    for (const e of this.exporters) {
      try {
        e.export(batch);
      } catch {
        // Exporters do not throw; this guards a third-party one.
      }
    }
  }

  flushSync(): void {
    for (const e of this.exporters) {
      try {
        e.flushSync();
      } catch {
        // As above.
      }
    }
  }

  async flush(): Promise<void> {
    await Promise.all(this.exporters.map((e) => e.flush().catch(() => undefined)));
  }
}

/** The exporters the environment asks for, behind one SpanExporter; null when none is configured. */
export function createExporters(
  env: Pick<RuntimeEnv, 'disabled' | 'tracesFile' | 'endpoint' | 'headers' | 'timeoutMs' | 'queueSize' | 'batchSize'>,
): SpanExporter | null {
  if (env.disabled) return null;
  const exporters: SpanExporter[] = [];
  if (env.tracesFile) exporters.push(new JsonlExporter(env.tracesFile));
  if (env.endpoint) {
    exporters.push(new OtlpHttpExporter({
      endpoint: env.endpoint,
      headers: env.headers,
      timeoutMs: env.timeoutMs,
      maxQueueSize: env.queueSize,
      // The spec caps the batch at the queue size.
      maxBatchSize: env.batchSize !== undefined && env.queueSize !== undefined ? Math.min(env.batchSize, env.queueSize) : env.batchSize,
    }));
  }
  if (exporters.length === 0) return null;
  return exporters.length === 1 ? exporters[0]! : new FanOut(exporters);
}

/**
 * Flushes at the end of the program. 'beforeExit' (the loop ran dry) gets an asynchronous
 * flush, once: the requests it starts revive the loop, and a second flush would revive it
 * again. 'exit' (also reached through process.exit()) gets the synchronous last chance.
 * No signal handlers: taking over SIGINT/SIGTERM would change how programs die.
 * Returns a function that removes the hooks.
 */
export function installExitHooks(exporter: SpanExporter, drain: () => SpanData[]): () => void {
  let flushedBeforeExit = false;
  const hand = () => {
    try {
      const spans = drain();
      if (spans.length > 0) exporter.export(spans);
    } catch {
      // The program's exit must not fail because of telemetry.
    }
  };
  const onBeforeExit = () => {
    if (flushedBeforeExit) return;
    flushedBeforeExit = true;
    hand();
    exporter.flush().catch(() => undefined);
  };
  const onExit = () => {
    hand();
    try {
      exporter.flushSync();
    } catch {
      // As above.
    }
  };
  process.on('beforeExit', onBeforeExit);
  process.once('exit', onExit);
  return () => {
    process.off('beforeExit', onBeforeExit);
    process.off('exit', onExit);
  };
}
