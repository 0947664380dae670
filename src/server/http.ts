/**
 * The HTTP side of `cti serve`: the OTLP/HTTP receiver (`POST /v1/traces`, JSON or protobuf,
 * gzip; also the browser relay path, so pages built with the plugins can post same-origin), the
 * JSON API, live updates (server-sent events) and the viewer's static files.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timingSafeEqual } from 'node:crypto';
import { decodeTraceRequest, PayloadError } from './otlp-decode.js';
import { SourceError, type SourceRoot } from './source-root.js';
import type { TraceQuery, TraceStore } from './store.js';

export const RECEIVER_PATHS = new Set(['/v1/traces', '/__cti/v1/traces']);
export const DEFAULT_MAX_BODY = 32 * 1024 * 1024;
const VIEWER_DIR = fileURLToPath(new URL('../../src/server/viewer/', import.meta.url));
const VIEWER_FILES: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js', '/style.css': 'style.css' };
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export interface TraceServerOptions {
  store: TraceStore;
  /** Where the source view reads a span's file: its service's root if listed, else the default. */
  sources: { root: SourceRoot; byService?: Map<string, SourceRoot> };
  /** Static sites served under a URL prefix (`/playground/` → a built app), read-only. */
  statics?: Record<string, SourceRoot>;
  /** Bearer token every route requires (also accepted as `?token=` for the viewer and its event stream). */
  token?: string;
  maxBodyBytes?: number;
}

export interface TraceServer {
  server: Server;
  /** Spans received since start (retried duplicates included), and requests refused. */
  stats: { spans: number; refused: number };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function authorized(req: IncomingMessage, url: URL, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = req.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice(7) : (url.searchParams.get('token') ?? '');
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Reads a body up to `max` bytes; rejects with a 413 PayloadError past it (and stops reading). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) return reject(new PayloadError(413, `body of ${declared} bytes is larger than the ${max}-byte limit`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(new PayloadError(413, `body larger than the ${max}-byte limit`));
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function traceQuery(p: URLSearchParams): TraceQuery {
  const q: TraceQuery = {};
  if (p.get('service')) q.service = p.get('service')!;
  if (p.get('name')) q.name = p.get('name')!;
  if (p.get('error') === 'true' || p.get('error') === '1') q.error = true;
  if (p.get('error') === 'false' || p.get('error') === '0') q.error = false;
  const min = Number(p.get('min_duration_ms'));
  if (p.get('min_duration_ms') && Number.isFinite(min) && min >= 0) q.minDurationNs = BigInt(Math.round(min * 1e6));
  const limit = Number(p.get('limit'));
  if (p.get('limit') && Number.isInteger(limit) && limit > 0) q.limit = limit;
  return q;
}

const STATIC_TYPES: Record<string, string> = { ...TYPES, '.svg': 'image/svg+xml', '.json': 'application/json', '.map': 'application/json', '.png': 'image/png', '.ico': 'image/x-icon' };

function serveStatic(res: ServerResponse, site: SourceRoot, path: string): void {
  let body: Buffer;
  try {
    body = site.readBytes(decodeURIComponent(path));
  } catch (e) {
    return json(res, e instanceof SourceError ? e.status : 404, { error: (e as Error).message });
  }
  res.writeHead(200, { 'content-type': STATIC_TYPES[extname(path)] ?? 'application/octet-stream' }).end(body);
}

export function createTraceServer(options: TraceServerOptions): TraceServer {
  const { store, sources, token } = options;
  const max = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const stats = { spans: 0, refused: 0 };
  const live = new Set<ServerResponse>();

  async function receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBody(req, max);
      const spans = decodeTraceRequest(body, req.headers['content-type'], req.headers['content-encoding'] as string | undefined, max);
      const touched = store.insert(spans);
      stats.spans += spans.length;
      if (touched.size) {
        const event = `event: traces\ndata: ${JSON.stringify({ trace_ids: [...touched] })}\n\n`;
        for (const client of live) client.write(event);
      }
      // The OTLP success response: an empty ExportTraceServiceResponse in the request's encoding.
      if ((req.headers['content-type'] ?? '').includes('protobuf')) res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      else json(res, 200, {});
    } catch (e) {
      stats.refused++;
      if (e instanceof PayloadError) {
        // Past the limit the rest of the body is not read: close rather than keep the connection.
        if (e.status === 413) res.setHeader('connection', 'close');
        return json(res, e.status, { error: e.message });
      }
      json(res, 500, { error: `could not store the spans: ${(e as Error).message}` });
    }
  }

  function api(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const path = url.pathname;
    if (path === '/api/traces') return json(res, 200, { traces: store.traces(traceQuery(url.searchParams)) });
    const one = /^\/api\/traces\/([0-9a-fA-F]{32})$/.exec(path);
    if (one) {
      const lines = store.traceLines(one[1]!);
      if (!lines.length) return json(res, 404, { error: `trace ${one[1]} not found` });
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`{"spans":[${lines.join(',')}]}`);
      return;
    }
    if (path === '/api/services') return json(res, 200, { services: store.services() });
    if (path === '/api/stats') return json(res, 200, { spans: store.spanCount(), traces: store.traceCount(), received: stats.spans, refused: stats.refused });
    if (path === '/api/source') {
      try {
        const root = sources.byService?.get(url.searchParams.get('service') ?? '') ?? sources.root;
        return json(res, 200, { path: url.searchParams.get('path'), text: root.read(url.searchParams.get('path') ?? '') });
      } catch (e) {
        if (e instanceof SourceError) return json(res, e.status, { error: e.message });
        throw e;
      }
    }
    if (path === '/api/live') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': live\n\n');
      live.add(res);
      req.on('close', () => live.delete(res));
      return;
    }
    json(res, 404, { error: `no route ${path}` });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Pages built with the plugins may post from another origin (the receiver answers CORS as
    // the OpenTelemetry Collector does); the API and viewer are same-origin only.
    if (RECEIVER_PATHS.has(url.pathname)) {
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('access-control-allow-headers', 'content-type, content-encoding, authorization');
      res.setHeader('access-control-allow-methods', 'POST');
      if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    }
    if (!authorized(req, url, token)) {
      res.setHeader('www-authenticate', 'Bearer');
      return json(res, 401, { error: 'a valid bearer token is required' });
    }
    if (RECEIVER_PATHS.has(url.pathname)) {
      if (req.method !== 'POST') return json(res, 405, { error: 'POST spans here' });
      return void receive(req, res);
    }
    if (req.method !== 'GET') return json(res, 405, { error: `${req.method} not allowed` });
    if (url.pathname.startsWith('/api/')) {
      try {
        return api(req, res, url);
      } catch (e) {
        return json(res, 500, { error: (e as Error).message });
      }
    }
    for (const [prefix, site] of Object.entries(options.statics ?? {})) {
      if (url.pathname.startsWith(prefix)) return serveStatic(res, site, url.pathname.slice(prefix.length) || 'index.html');
    }
    const file = VIEWER_FILES[url.pathname];
    if (!file) return json(res, 404, { error: `no route ${url.pathname}` });
    let body: Buffer;
    try {
      body = readFileSync(join(VIEWER_DIR, file));
    } catch {
      return json(res, 500, { error: `the viewer's ${file} is missing from this installation` });
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)]!, 'cache-control': 'no-cache' }).end(body);
  });
  server.on('close', () => {
    for (const client of live) client.end();
  });
  return { server, stats };
}
