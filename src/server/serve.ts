/**
 * Starting and stopping `cti serve` (the CLI command and the demo share it).
 */
import type { AddressInfo } from 'node:net';
import { createTraceServer, type TraceServer } from './http.js';
import { SourceRoot } from './source-root.js';
import { TraceStore } from './store.js';

export interface ServeOptions {
  port: number;
  host: string;
  /** Data directory of the store. */
  data: string;
  /** Project root the source view reads from; `sourceRoots` names other roots per service.name. */
  root: string;
  sourceRoots?: Record<string, string>;
  token?: string;
  maxBodyBytes?: number;
  /** Bound of the store: past it the oldest traces are deleted. */
  maxSpans?: number;
}

export interface RunningServer extends TraceServer {
  store: TraceStore;
  /** Serves `dir` (read-only) under the URL `prefix` from now on. */
  addStatic(prefix: string, dir: string): void;
  /** `http://host:port` */
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Why these options may not start a server, or null. */
export function serveOptionsProblem(o: Pick<ServeOptions, 'host' | 'token'>): string | null {
  if (!LOOPBACK.test(o.host) && !o.token) return `listening on ${o.host} (not loopback) requires --token: everyone who can reach it could read your traces and sources`;
  return null;
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const problem = serveOptionsProblem(o);
  if (problem) throw new Error(problem);
  const store = new TraceStore(o.data, o.maxSpans);
  const byService = new Map(Object.entries(o.sourceRoots ?? {}).map(([service, dir]) => [service, new SourceRoot(dir)]));
  // Static sites (the demo's playground) are added once built, while the server already runs.
  const statics: Record<string, SourceRoot> = {};
  const t = createTraceServer({ store, sources: { root: new SourceRoot(o.root), byService }, statics, token: o.token, maxBodyBytes: o.maxBodyBytes });
  try {
    await new Promise<void>((resolve, reject) => {
      t.server.once('error', reject);
      t.server.listen(o.port, o.host, () => resolve());
    });
  } catch (e) {
    store.close();
    throw e;
  }
  const { port } = t.server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    ...t,
    store,
    addStatic: (prefix, dir) => {
      statics[prefix] = new SourceRoot(dir);
    },
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => {
      t.server.closeAllConnections();
      t.server.close(() => {
        store.close();
        resolve();
      });
    }),
  };
}
