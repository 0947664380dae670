// One OTLP/HTTP POST, shared by the in-process exporter and the exit-time child (post.ts).
// Kept free of other imports so the child starts fast.

export interface PostResult {
  ok: boolean;
  /** Spans the receiver refused although the request succeeded (OTLP partial success). */
  rejected: number;
  /** Why spans were lost, phrased to follow "receiver <url> ". */
  reason: string;
  /** What kind of failure: a timeout is expensive to repeat, the others fail fast. */
  failure?: 'timeout' | 'network' | 'http' | 'aborted';
}

export interface PostOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Aborts early, e.g. when a flush deadline passes. */
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

class Timeout extends Error {}

/** Never rejects: every failure comes back as a reason. */
export async function postOnce(o: PostOptions): Promise<PostResult> {
  const controller = new AbortController();
  // Unref'd: a request in flight may delay exit by at most timeoutMs, never forever.
  const timer = setTimeout(() => controller.abort(new Timeout()), o.timeoutMs);
  timer.unref();
  const onAbort = () => controller.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await (o.fetch ?? fetch)(o.url, {
      method: 'POST',
      headers: { ...o.headers, 'content-type': 'application/json' },
      body: o.body,
      signal: controller.signal,
    });
    // Always read the body: an unread response pins the socket.
    const text = await res.text();
    if (!res.ok) return { ok: false, rejected: 0, failure: 'http', reason: `answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}` };
    return { ok: true, ...partialSuccess(text) };
  } catch (e) {
    return { ok: false, rejected: 0, ...describeError(e, controller.signal.reason, o.timeoutMs) };
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
  }
}

function partialSuccess(text: string): { rejected: number; reason: string } {
  try {
    const ps = (JSON.parse(text) as { partialSuccess?: { rejectedSpans?: unknown; errorMessage?: unknown } }).partialSuccess;
    const rejected = Number(ps?.rejectedSpans ?? 0);
    if (Number.isSafeInteger(rejected) && rejected > 0) {
      const msg = typeof ps?.errorMessage === 'string' && ps.errorMessage ? `: ${ps.errorMessage}` : '';
      return { rejected, reason: `rejected spans${msg}` };
    }
  } catch {
    // An empty or non-JSON 2xx body means full success.
  }
  return { rejected: 0, reason: '' };
}

/** fetch hides the socket error in `cause` (an AggregateError when both ::1 and 127.0.0.1 were tried). */
function errorCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    const err = cur as { code?: unknown; errors?: unknown[]; cause?: unknown };
    if (typeof err.code === 'string') return err.code;
    const inner = err.errors?.find((x) => typeof (x as { code?: unknown })?.code === 'string') as { code: string } | undefined;
    if (inner) return inner.code;
    cur = err.cause;
  }
  return undefined;
}

function describeError(e: unknown, abortReason: unknown, timeoutMs: number): Pick<PostResult, 'failure' | 'reason'> {
  if (abortReason instanceof Timeout) return { failure: 'timeout', reason: `did not answer within ${timeoutMs} ms` };
  if (abortReason !== undefined) return { failure: 'aborted', reason: 'was still busy when the flush deadline passed' };
  const code = errorCode(e);
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return { failure: 'network', reason: `reset the connection (${code})` };
  if (code) return { failure: 'network', reason: `unreachable (${code})` };
  // fetch's own message is always "fetch failed"; the cause says what happened (e.g. "bad port").
  const cause = (e as { cause?: unknown })?.cause;
  const message = cause instanceof Error ? cause.message : e instanceof Error ? e.message : String(e);
  return { failure: 'network', reason: `failed (${message})` };
}
