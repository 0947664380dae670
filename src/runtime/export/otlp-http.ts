import { spawnSync } from 'node:child_process';
import { isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';
import type { SpanData, SpanExporter } from '../span-data.js';
import { DropCounter } from './drops.js';
import { toOtlpJson } from './otlp-json.js';
import { postOnce, type PostResult } from './send.js';

export interface OtlpHttpOptions {
  /** Full URL of the traces endpoint, e.g. http://127.0.0.1:4318/v1/traces. */
  endpoint: string;
  headers?: Record<string, string>;
  /** Per request; also bounds flush(). Default 10 000. */
  timeoutMs?: number;
  /** Spans waiting to be sent; beyond this they are dropped. Default 2048. */
  maxQueueSize?: number;
  /** Spans per request. Default 512. */
  maxBatchSize?: number;
  /** Concurrent requests. Default 2. */
  maxInFlight?: number;
  /** Where the exit-time drop report goes (default stderr). */
  report?: (line: string) => void;
}

interface InFlight {
  spans: SpanData[];
  /** Aborted when a flush deadline passes. */
  abort: AbortController;
  /** Set once flushSync() re-sent these spans: the async outcome no longer counts. */
  handedOff: boolean;
}

/** The exit-time sender must finish quickly whatever the configured timeout. */
const EXIT_TIMEOUT_CAP_MS = 3000;
/** After a fast failure (refused, reset, HTTP error), wait this long before trying again. */
const RETRY_PAUSE_MS = 1000;
const POST_SCRIPT = fileURLToPath(new URL('./post.js', import.meta.url));

/**
 * Sends spans as OTLP/HTTP JSON with the global fetch. Memory is bounded (a fixed-size
 * queue, a few requests in flight), nothing it does can throw into the program, and
 * the only things that hold the event loop are requests in flight, each bounded by the
 * timeout.
 */
export class OtlpHttpExporter implements SpanExporter {
  readonly endpoint: string;
  readonly drops: DropCounter;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly maxQueueSize: number;
  private readonly maxBatchSize: number;
  private readonly maxInFlight: number;
  // Captured now: a program that later stubs fetch for its own tests must not swallow our spans.
  private readonly fetch: typeof fetch | undefined = globalThis.fetch;
  private queue: SpanData[] = [];
  private readonly inFlight = new Set<InFlight>();
  private pumpScheduled = false;
  private idleWaiters: (() => void)[] = [];
  /** No new requests before this time (Date.now()), after a failure. */
  private pausedUntil = 0;
  private pauseTimer: NodeJS.Timeout | undefined;
  /**
   * The last request timed out. Waiting on such a receiver again would hold the program
   * open for another timeout per batch, so while this is set the exit paths drop instead.
   */
  private unresponsive = '';

  constructor(o: OtlpHttpOptions) {
    this.endpoint = o.endpoint;
    this.headers = { 'user-agent': 'code-telemetry-injector', ...o.headers };
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.maxQueueSize = o.maxQueueSize ?? 2048;
    this.maxBatchSize = Math.max(1, o.maxBatchSize ?? 512);
    this.maxInFlight = Math.max(1, o.maxInFlight ?? 2);
    this.drops = new DropCounter(o.report);
  }

  /** Spans waiting for a free request slot. */
  get queued(): number {
    return this.queue.length;
  }

  /** Spans in requests that have not finished yet. */
  get sending(): number {
    let n = 0;
    for (const r of this.inFlight) n += r.spans.length;
    return n;
  }

  export(batch: SpanData[]): void {
    const room = Math.max(0, this.maxQueueSize - this.queue.length);
    const take = Math.min(room, batch.length);
    // A loop, not push(...batch): spreading a huge batch overflows the call stack.
    for (let i = 0; i < take; i++) this.queue.push(batch[i]!);
    this.drops.add(batch.length - take, `receiver ${this.endpoint} could not keep up: over ${this.maxQueueSize} spans waiting (raise OTEL_BSP_MAX_QUEUE_SIZE)`, true);
    if (take > 0) this.schedulePump();
  }

  flush(): Promise<void> {
    if (this.unresponsive) this.dropQueue(this.unresponsive);
    // A fast failure's pause is not worth keeping at the end: one more try costs milliseconds.
    this.pump(true);
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => {
      // Unref'd: while requests are running their sockets keep the loop alive anyway.
      const deadline = setTimeout(() => this.giveUp(), this.timeoutMs);
      deadline.unref();
      this.idleWaiters.push(() => {
        clearTimeout(deadline);
        resolve();
      });
    });
  }

  /**
   * For process.on('exit'): posts whatever is still pending through a child process and
   * waits for it synchronously, then prints the drop report. Requests that were in flight
   * are included: they die with this process and may not have reached the receiver, so a
   * duplicate is preferred to a silent loss (receivers can dedupe on trace and span id).
   */
  flushSync(): void {
    const pending: SpanData[] = [];
    for (const r of this.inFlight) {
      r.handedOff = true;
      for (const s of r.spans) pending.push(s);
    }
    this.inFlight.clear();
    for (const s of this.queue) pending.push(s);
    this.queue = [];
    if (pending.length > 0 && this.unresponsive) {
      this.drops.add(pending.length, `receiver ${this.endpoint} ${this.unresponsive}`);
    } else if (pending.length > 0) {
      const result = this.postSync(pending);
      if (!result.ok) this.drops.add(pending.length, `receiver ${this.endpoint} ${result.reason}`);
      else this.drops.add(Math.min(result.rejected, pending.length), `receiver ${this.endpoint} ${result.reason}`);
    }
    this.drops.report();
  }

  private postSync(spans: SpanData[]): PostResult {
    const timeout = Math.min(this.timeoutMs, EXIT_TIMEOUT_CAP_MS);
    // In a single-executable app process.execPath is the program itself: never re-run it.
    if (isSea()) return { ok: false, rejected: 0, reason: 'could not be reached from the exit handler (single-executable app)' };
    try {
      const env: Record<string, string> = {
        CTI_POST_URL: this.endpoint,
        CTI_POST_HEADERS: JSON.stringify(this.headers),
        // A little under the kill timeout, so the child can still say what went wrong.
        CTI_POST_TIMEOUT: String(Math.max(100, timeout - 250)),
        // Under Electron process.execPath is the app; this makes it behave as plain Node.
        ELECTRON_RUN_AS_NODE: '1',
      };
      // Windows needs SYSTEMROOT for sockets; nothing else of ours (no NODE_OPTIONS that could
      // load the instrumentation into the child) is passed on.
      if (process.env.SYSTEMROOT) env.SYSTEMROOT = process.env.SYSTEMROOT;
      const child = spawnSync(process.execPath, ['--no-warnings', POST_SCRIPT], {
        input: JSON.stringify(toOtlpJson(spans)),
        timeout,
        killSignal: 'SIGKILL',
        env,
        stdio: ['pipe', 'pipe', 'ignore'],
        windowsHide: true,
        maxBuffer: 64 * 1024,
      });
      if (child.error && (child.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
        return { ok: false, rejected: 0, reason: `did not answer within ${timeout} ms` };
      }
      if (child.error) return { ok: false, rejected: 0, reason: `could not be reached from the exit handler (${child.error.message})` };
      const line = child.stdout.toString().trim().split('\n').pop() ?? '';
      try {
        return JSON.parse(line) as PostResult;
      } catch {
        return { ok: false, rejected: 0, reason: `could not be reached from the exit handler (sender exited with ${child.status ?? child.signal})` };
      }
    } catch (e) {
      return { ok: false, rejected: 0, reason: `could not be reached from the exit handler (${(e as Error).message})` };
    }
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // Deferred so that a burst of small exports leaves as one request.
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(ignorePause = false): void {
    if (!ignorePause && Date.now() < this.pausedUntil) return;
    while (this.inFlight.size < this.maxInFlight && this.queue.length > 0) {
      void this.send(this.queue.splice(0, this.maxBatchSize));
    }
  }

  private async send(spans: SpanData[]): Promise<void> {
    const entry: InFlight = { spans, abort: new AbortController(), handedOff: false };
    this.inFlight.add(entry);
    let result: PostResult;
    try {
      result = await postOnce({
        url: this.endpoint,
        headers: this.headers,
        body: JSON.stringify(toOtlpJson(spans)),
        timeoutMs: this.timeoutMs,
        signal: entry.abort.signal,
        fetch: this.fetch,
      });
    } catch (e) {
      // postOnce does not reject; this is the encoder failing on a malformed span.
      result = { ok: false, rejected: 0, reason: `could not be sent (${(e as Error).message})` };
    }
    if (entry.handedOff) return;
    this.inFlight.delete(entry);
    if (result.ok) {
      this.unresponsive = '';
      this.pausedUntil = 0;
      this.drops.add(Math.min(result.rejected, spans.length), `receiver ${this.endpoint} ${result.reason}`);
    } else {
      this.drops.add(spans.length, `receiver ${this.endpoint} ${result.reason}`, result.failure === 'aborted');
      if (result.failure === 'timeout') {
        this.unresponsive = result.reason;
        this.pause(this.timeoutMs);
      } else if (result.failure !== 'aborted') {
        this.pause(RETRY_PAUSE_MS);
      }
    }
    if (this.idleWaiters.length > 0) {
      // Someone is flushing (usually beforeExit): finish now rather than after a pause.
      if (this.unresponsive) this.dropQueue(this.unresponsive);
      this.pump(true);
    } else {
      this.pump();
    }
    this.notifyIfIdle();
  }

  /** Holds new requests back for a while; unref'd, so a paused exporter never keeps the program alive. */
  private pause(ms: number): void {
    this.pausedUntil = Date.now() + ms;
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = undefined;
      this.pump();
    }, ms);
    this.pauseTimer.unref();
  }

  /** A flush deadline passed: stop waiting for this receiver. */
  private giveUp(): void {
    this.dropQueue(`did not take the spans within ${this.timeoutMs} ms`, true);
    for (const r of this.inFlight) r.abort.abort();
    this.notifyIfIdle();
  }

  private dropQueue(reason: string, weak = false): void {
    this.drops.add(this.queue.length, `receiver ${this.endpoint} ${reason}`, weak);
    this.queue = [];
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.inFlight.size === 0;
  }

  private notifyIfIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
