/**
 * The same-origin OTLP relay for Vite's dev (and preview) server: the browser runtime POSTs to
 * `/__cti/v1/traces` on the page's own origin (no CORS setup), the server forwards the body to
 * the receiver. The page always gets 204 at once: a missing receiver is never an error there.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const RELAY_PATH = '/__cti/v1/traces';
const MAX_BODY = 4 * 1024 * 1024;
const FORWARD_TIMEOUT_MS = 10_000;

/** The receiver: the plugin's `endpoint`, else the OTLP environment variables, else a local collector. */
export function receiverEndpoint(endpoint: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (endpoint) return endpoint;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (base) return `${base.replace(/\/+$/, '')}/v1/traces`;
  return 'http://127.0.0.1:4318/v1/traces';
}

type Next = (err?: unknown) => void;

/** A connect middleware for RELAY_PATH. */
export function relayMiddleware(target: () => string) {
  return (req: IncomingMessage, res: ServerResponse, next: Next): void => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== RELAY_PATH && path !== '/' && path !== '') return next();
    if (req.method === 'OPTIONS') {
      res.statusCode = 204;
      res.end();
      return;
    }
    if (req.method !== 'POST') {
      res.statusCode = 405;
      res.end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      res.statusCode = 204;
      res.end();
      if (size === 0 || size > MAX_BODY) return;
      const body = Buffer.concat(chunks);
      fetch(target(), {
        method: 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
        body,
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
      }).then((r) => r.arrayBuffer(), () => undefined).catch(() => undefined);
    });
  };
}

/**
 * The relay for production servers (Node's http, Express, Connect): mount it on RELAY_PATH (or
 * call it for every request: other paths go to `next`, else 404) and build the app with the
 * default browser endpoint. `endpoint` as in the plugin options.
 */
export function ctiRelay(options: { endpoint?: string } = {}) {
  const relay = relayMiddleware(() => receiverEndpoint(options.endpoint));
  return (req: IncomingMessage, res: ServerResponse, next?: Next): void =>
    relay(req, res, next ?? (() => {
      res.statusCode = 404;
      res.end();
    }));
}
