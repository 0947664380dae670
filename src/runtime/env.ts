import type { Attributes } from './span-data.js';
import { warnOnce } from './export/warn.js';
import { SDK_NAME, VERSION } from './export/version.js';

export type SamplerKind = 'always_on' | 'always_off' | 'traceidratio';

export interface SamplerConfig {
  kind: SamplerKind;
  /** Follow the parent's sampling decision when there is a parent. */
  parentBased: boolean;
  /** Fraction of traces kept by `traceidratio` (1 for always_on, 0 for always_off). */
  ratio: number;
}

/** The OpenTelemetry (and CTI_*) environment as the runtime needs it. */
export interface RuntimeEnv {
  disabled: boolean;
  serviceName: string;
  resource: Attributes;
  tracesFile?: string;
  endpoint?: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** OTEL_BSP_MAX_QUEUE_SIZE: spans waiting for the receiver before new ones are dropped. */
  queueSize?: number;
  /** OTEL_BSP_MAX_EXPORT_BATCH_SIZE: spans per request. */
  batchSize?: number;
  /** OTEL_BSP_SCHEDULE_DELAY: at most this long (ms) between a span's end and its export. */
  scheduleDelayMs?: number;
  sampler: SamplerConfig;
  /** Overrides the build-time eventsPerSpan limit when set. */
  eventLimit?: number;
  /** Overrides the build-time valueLength limit when set. */
  valueLimit?: number;
}

export type EnvVars = Record<string, string | undefined>;

export const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_SAMPLER: SamplerConfig = { kind: 'always_on', parentBased: true, ratio: 1 };

/**
 * Reads the environment once at startup. Never throws: a bad value is ignored with a
 * one-time `cti:` warning, because a telemetry typo must not stop the user's program.
 */
export function readRuntimeEnv(env: EnvVars = process.env, warn: (message: string) => void = warnOnce): RuntimeEnv {
  // The OTel spec treats an empty variable as unset.
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };

  const disabledText = get('OTEL_SDK_DISABLED')?.toLowerCase();
  if (disabledText !== undefined && disabledText !== 'true' && disabledText !== 'false') {
    warn(`OTEL_SDK_DISABLED=${env.OTEL_SDK_DISABLED} is not true or false; treating it as false`);
  }

  let parsed: Record<string, string> = {};
  const resourceText = get('OTEL_RESOURCE_ATTRIBUTES');
  if (resourceText !== undefined) parsed = parseKeyValues(resourceText, 'OTEL_RESOURCE_ATTRIBUTES', warn);
  const serviceName = get('OTEL_SERVICE_NAME') ?? (parsed['service.name'] || undefined) ?? 'unknown_service:node';
  // SDK facts first so that OTEL_RESOURCE_ATTRIBUTES can override them, as OTel SDKs do.
  const resource: Attributes = {
    'service.name': serviceName,
    'telemetry.sdk.name': SDK_NAME,
    'telemetry.sdk.language': 'nodejs',
    'telemetry.sdk.version': VERSION,
    'process.pid': process.pid,
  };
  Object.assign(resource, parsed);
  resource['service.name'] = serviceName;

  const protocol = get('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? get('OTEL_EXPORTER_OTLP_PROTOCOL');
  if (protocol !== undefined && protocol !== 'http/json') {
    warn(`OTLP protocol ${protocol} is not supported; sending http/json`);
  }

  const headers: Record<string, string> = {};
  for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
    const text = get(name);
    if (text !== undefined) Object.assign(headers, parseKeyValues(text, name, warn));
  }

  return {
    disabled: disabledText === 'true',
    serviceName,
    resource,
    tracesFile: get('CTI_TRACES_FILE'),
    endpoint: readEndpoint(get, warn),
    headers,
    timeoutMs:
      readInt(get, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 1, warn) ??
      readInt(get, 'OTEL_EXPORTER_OTLP_TIMEOUT', 1, warn) ??
      DEFAULT_TIMEOUT_MS,
    queueSize: readInt(get, 'OTEL_BSP_MAX_QUEUE_SIZE', 1, warn),
    batchSize: readInt(get, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 1, warn),
    scheduleDelayMs: readInt(get, 'OTEL_BSP_SCHEDULE_DELAY', 0, warn),
    sampler: readSampler(get, warn),
    eventLimit: readInt(get, 'OTEL_SPAN_EVENT_COUNT_LIMIT', 0, warn),
    valueLimit: readInt(get, 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', 0, warn),
  };
}

type Getter = (name: string) => string | undefined;

function readEndpoint(get: Getter, warn: (m: string) => void): string | undefined {
  const check = (name: string, url: string): string | undefined => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      warn(`${name}=${url} is not a URL; not sending spans there`);
      return undefined;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      warn(`${name}=${url} is not an http(s) URL; not sending spans there`);
      return undefined;
    }
    return url;
  };
  const traces = get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (traces !== undefined) return check('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces);
  const base = get('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (base !== undefined) return check('OTEL_EXPORTER_OTLP_ENDPOINT', `${base.replace(/\/+$/, '')}/v1/traces`);
  // RECEIVER_URL is our shorthand for `cti serve`; people paste it with or without the path.
  const receiver = get('RECEIVER_URL');
  if (receiver !== undefined) {
    const trimmed = receiver.replace(/\/+$/, '');
    return check('RECEIVER_URL', trimmed.endsWith('/v1/traces') ? trimmed : `${trimmed}/v1/traces`);
  }
  return undefined;
}

function readSampler(get: Getter, warn: (m: string) => void): SamplerConfig {
  const text = get('OTEL_TRACES_SAMPLER');
  if (text === undefined) return { ...DEFAULT_SAMPLER };
  const name = text.toLowerCase();
  const parentBased = name.startsWith('parentbased_');
  const kind = parentBased ? name.slice('parentbased_'.length) : name;
  if (kind === 'always_on') return { kind, parentBased, ratio: 1 };
  if (kind === 'always_off') return { kind, parentBased, ratio: 0 };
  if (kind === 'traceidratio') {
    const arg = get('OTEL_TRACES_SAMPLER_ARG');
    let ratio = 1;
    if (arg !== undefined) {
      const n = Number(arg);
      if (Number.isFinite(n) && n >= 0 && n <= 1) ratio = n;
      else warn(`OTEL_TRACES_SAMPLER_ARG=${arg} is not a number between 0 and 1; using 1`);
    }
    return { kind, parentBased, ratio };
  }
  warn(`OTEL_TRACES_SAMPLER=${text} is not supported; using parentbased_always_on`);
  return { ...DEFAULT_SAMPLER };
}

function readInt(get: Getter, name: string, min: number, warn: (m: string) => void): number | undefined {
  const text = get(name);
  if (text === undefined) return undefined;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isSafeInteger(n) && n >= min) return n;
  warn(`${name}=${text} is not ${min > 0 ? 'a positive' : 'a non-negative'} integer; ignoring it`);
  return undefined;
}

/**
 * `k=v,k2=v2` with percent-encoded keys and values (the W3C Baggage subset the OTel spec
 * uses). Per the spec a malformed list is discarded as a whole rather than half applied.
 */
export function parseKeyValues(text: string, name: string, warn: (m: string) => void = warnOnce): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of text.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    let key: string;
    let value: string;
    try {
      if (eq < 0) throw new Error('missing =');
      key = decodeURIComponent(item.slice(0, eq).trim());
      value = decodeURIComponent(item.slice(eq + 1).trim());
      if (key === '') throw new Error('empty key');
    } catch {
      warn(`${name} has a malformed entry "${item.trim()}"; ignoring the whole variable`);
      return {};
    }
    out[key] = value;
  }
  return out;
}
