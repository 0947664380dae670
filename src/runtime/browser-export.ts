/**
 * OTLP/HTTP JSON export from a page: `fetch` with `keepalive` while the page lives,
 * `navigator.sendBeacon` when it is hidden or left. Never throws into the page and never
 * blocks it: bodies are at most 60 KB (the keepalive/beacon quota is 64 KB in flight), at most
 * two requests are in flight, the queue is bounded, and whatever cannot be sent (no receiver,
 * a full queue, a refused beacon) is only counted in `dropped`.
 */
import type { SpanData } from './span-data.js';
import { toOtlpJson } from './export/otlp-json.js';

export const MAX_BODY = 60 * 1024;
const MAX_IN_FLIGHT = 2;
const MAX_QUEUED = 32;
/** Browsers allow 64 KB of keepalive bodies in flight per page; above that a plain fetch is used. */
const KEEPALIVE_QUOTA = 64 * 1024;

interface Body { json: string; spans: number }

export class BrowserExporter {
  dropped = 0;
  sent = 0;
  private queue: Body[] = [];
  private inFlight = 0;
  private keepaliveBytes = 0;
  /** Set while the page is being hidden: bodies wait for beaconAll instead of a fetch. */
  hold = false;

  constructor(private readonly url: string) {}

  export(spans: SpanData[]): void {
    try {
      this.encode(spans);
      this.pump();
    } catch {
      this.dropped += spans.length;
    }
  }

  /** Splits into bodies of at most MAX_BODY bytes (UTF-16 length bounds it for ASCII-heavy JSON; checked in bytes). */
  private encode(spans: SpanData[]): void {
    if (spans.length === 0) return;
    const json = JSON.stringify(toOtlpJson(spans));
    if (byteLength(json) <= MAX_BODY) {
      this.enqueue({ json, spans: spans.length });
    } else if (spans.length === 1) {
      this.dropped += 1;
    } else {
      const half = spans.length >> 1;
      this.encode(spans.slice(0, half));
      this.encode(spans.slice(half));
    }
  }

  private enqueue(body: Body): void {
    if (this.queue.length >= MAX_QUEUED) {
      const old = this.queue.shift()!;
      this.dropped += old.spans;
    }
    this.queue.push(body);
  }

  private pump(): void {
    while (!this.hold && this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const body = this.queue.shift()!;
      const bytes = byteLength(body.json);
      const keepalive = this.keepaliveBytes + bytes <= KEEPALIVE_QUOTA;
      if (keepalive) this.keepaliveBytes += bytes;
      this.inFlight++;
      const settle = (ok: boolean) => {
        this.inFlight--;
        if (keepalive) this.keepaliveBytes -= bytes;
        if (ok) this.sent += body.spans;
        else this.dropped += body.spans;
        this.pump();
      };
      try {
        fetch(this.url, { method: 'POST', keepalive, headers: { 'content-type': 'application/json' }, body: body.json }).then(
          (r) => settle(r.ok),
          () => settle(false),
        );
      } catch {
        settle(false);
      }
    }
  }

  /**
   * The page is going away: hand everything queued to requests that outlive it. Same origin:
   * `navigator.sendBeacon`. Another origin: a keepalive `fetch` without credentials instead,
   * because a beacon is sent with credentials and an ordinary CORS setup (`*`, as the
   * OpenTelemetry Collector answers) refuses it.
   */
  beaconAll(): void {
    const queue = this.queue;
    this.queue = [];
    const sameOrigin = isSameOrigin(this.url);
    for (const body of queue) {
      let ok = false;
      try {
        if (sameOrigin && typeof navigator !== 'undefined' && typeof navigator.sendBeacon === 'function') {
          ok = navigator.sendBeacon(this.url, new Blob([body.json], { type: 'application/json' }));
        } else {
          const bytes = byteLength(body.json);
          if (this.keepaliveBytes + bytes <= KEEPALIVE_QUOTA) {
            this.keepaliveBytes += bytes;
            ok = true;
            fetch(this.url, { method: 'POST', keepalive: true, credentials: 'omit', headers: { 'content-type': 'application/json' }, body: body.json })
              .then(() => undefined, () => undefined);
          }
        }
      } catch {
        ok = false;
      }
      if (ok) this.sent += body.spans;
      else this.dropped += body.spans;
    }
  }
}

function isSameOrigin(url: string): boolean {
  try {
    return typeof location === 'undefined' || new URL(url, location.href).origin === location.origin;
  } catch {
    return false;
  }
}

const encoder = typeof TextEncoder === 'function' ? new TextEncoder() : null;
function byteLength(s: string): number {
  // JSON of spans is mostly ASCII: the UTF-16 length is exact then, and a lower bound otherwise.
  if (encoder === null) return s.length * 3;
  return /^[\x00-\x7f]*$/.test(s) ? s.length : encoder.encode(s).length;
}
