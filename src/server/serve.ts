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
  /** Project root the source view reads from. */
  root: string;
  token?: string;
  maxBodyBytes?: number;
  onSpans?: (count: number, traceIds: Set<string>) => void;
}

export interface RunningServer extends TraceServer {
  store: TraceStore;
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
  const store = new TraceStore(o.data);
  const t = createTraceServer({ store, sources: new SourceRoot(o.root), token: o.token, maxBodyBytes: o.maxBodyBytes, onSpans: o.onSpans });
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
