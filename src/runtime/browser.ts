/**
 * `code-telemetry-injector/runtime` in browsers (the package's `browser` export condition): the
 * same API as the Node runtime, with a browser platform (src/runtime/browser-platform.ts) and
 * OTLP/HTTP JSON export through fetch keepalive and sendBeacon (src/runtime/browser-export.ts).
 *
 * Configuration comes from `globalThis.__CTI_CONFIG__` (the bundler plugin sets it before the
 * app's scripts run): `{ endpoint, serviceName, disabled, sampleRatio }`. Defaults: the
 * same-origin relay path `/__cti/v1/traces` (the Vite dev server serves it), service name
 * `unknown_service:browser`.
 */
import { configure, drain, type Span } from './core.js';
import { platform } from './browser-platform.js';
import { makeClock, toSpanData } from './encode.js';
import { BrowserExporter } from './browser-export.js';
import { SDK_NAME, VERSION } from './export/version.js';
import type { Attributes } from './span-data.js';

export { enter, exit, ret, done, v, b, l, c, aw, fa, y, rs, ft, fe, file, flush } from './core.js';

export const DEFAULT_ENDPOINT = '/__cti/v1/traces';

export interface BrowserConfig {
  endpoint?: string;
  serviceName?: string;
  version?: string;
  disabled?: boolean;
  sampleRatio?: number;
  /** Longest wait (ms) between a span's end and its export (OTEL_BSP_SCHEDULE_DELAY at build time). */
  scheduleDelayMs?: number;
  resource?: Attributes;
}

let exporter: BrowserExporter | null = null;

/** Sent and dropped span counts (for tests and diagnostics). */
export function stats(): { sent: number; dropped: number } {
  return { sent: exporter?.sent ?? 0, dropped: exporter?.dropped ?? 0 };
}

function setup(): void {
  const g = globalThis as { __CTI_CONFIG__?: BrowserConfig };
  const config: BrowserConfig = (typeof g.__CTI_CONFIG__ === 'object' && g.__CTI_CONFIG__) || {};
  if (config.disabled === true) return;
  const out = new BrowserExporter(typeof config.endpoint === 'string' && config.endpoint !== '' ? config.endpoint : DEFAULT_ENDPOINT);
  exporter = out;
  const resource: Attributes = {
    'service.name': config.serviceName || 'unknown_service:browser',
    'telemetry.sdk.name': SDK_NAME,
    'telemetry.sdk.language': 'webjs',
    'telemetry.sdk.version': config.version || VERSION,
    ...config.resource,
  };
  const clock = makeClock(platform.timeOrigin);
  const ratio = typeof config.sampleRatio === 'number' ? config.sampleRatio : 1;
  configure({
    platform,
    sink: (spans: Span[]) => {
      const data = [];
      for (const s of spans) {
        try {
          data.push(toSpanData(s, clock, resource));
        } catch {
          out.dropped++;
        }
      }
      out.export(data);
    },
    sampleRoot: ratio >= 1 ? () => true : ratio <= 0 ? () => false : () => Math.random() < ratio,
    scheduleDelayMs: typeof config.scheduleDelayMs === 'number' ? config.scheduleDelayMs : undefined,
  });
  // Leaving or hiding the page: spans still waiting (a throw's 100 ms catch window, the 1 s
  // batch timer) leave now, through sendBeacon.
  const hide = () => {
    out.hold = true;
    try {
      drain();
      out.beaconAll();
    } catch {
      // never into the page
    }
    out.hold = false;
  };
  if (typeof addEventListener === 'function') {
    addEventListener('pagehide', hide);
    if (typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'hidden') hide();
      });
    }
  }
}

try {
  setup();
} catch {
  exporter = null;
}
