/**
 * The trace store of `cti serve`: SQLite through libsql (an embedded, maintained SQLite fork with
 * prebuilt binaries on npm: nothing to compile at install), one file under the data directory,
 * WAL-journaled so a crash loses at most the request in flight. Spans are kept as their JSONL
 * line (docs/telemetry.md) plus the columns queries need; a per-trace summary row is kept up to
 * date on insert, so listing traces never scans spans.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'libsql';
import type { SpanData } from '../runtime/span-data.js';

export interface TraceSummary {
  trace_id: string;
  root_name: string;
  service: string;
  start_time_unix_nano: string;
  duration_ns: string;
  span_count: number;
  error_count: number;
}

export interface TraceQuery {
  service?: string;
  /** Substring of a span name (function name) anywhere in the trace. */
  name?: string;
  /** Only traces with (true) or without (false) an ERROR span. */
  error?: boolean;
  minDurationNs?: bigint;
  limit?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS spans (
  trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_span_id TEXT, name TEXT NOT NULL,
  start_ns INTEGER NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY (trace_id, span_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS spans_name ON spans (name);
CREATE TABLE IF NOT EXISTS traces (
  trace_id TEXT PRIMARY KEY,
  root_name TEXT, root_service TEXT,
  first_name TEXT NOT NULL, first_service TEXT NOT NULL,
  start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
  span_count INTEGER NOT NULL, error_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS traces_start ON traces (start_ns DESC);
`;

/** The default bound of a store: about 2 GB of typical spans. */
export const DEFAULT_MAX_SPANS = 1_000_000;

const serviceOf = (s: SpanData) => String(s.resource['service.name'] ?? 'unknown_service');

/** What one request adds to a trace's summary row. */
interface TraceDelta {
  rootName: string | null;
  rootService: string | null;
  firstName: string;
  firstService: string;
  start: bigint;
  end: bigint;
  spans: number;
  errors: number;
}

export class TraceStore {
  private readonly db: Database.Database;
  private readonly insertSpan: Database.Statement;
  private readonly upsertTrace: Database.Statement;
  private readonly insertAll: (spans: SpanData[]) => Set<string>;

  /** Spans stored now (kept in step with inserts and pruning, so the limit costs no query). */
  private stored: number;

  /**
   * Opens (creating) the store in `dir`; `:memory:` for a throwaway one. Past `maxSpans` the
   * oldest traces are deleted, whole, down to 90% of it: the store's size stays bounded.
   */
  constructor(dir: string, readonly maxSpans = DEFAULT_MAX_SPANS) {
    let file = dir;
    if (dir !== ':memory:') {
      mkdirSync(dir, { recursive: true });
      file = join(dir, 'traces.db');
    }
    this.db = new Database(file);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    this.db.exec(SCHEMA);
    this.stored = Number((this.db.prepare('SELECT COUNT(*) AS n FROM spans').get() as { n: number }).n);
    this.insertSpan = this.db.prepare('INSERT OR IGNORE INTO spans (trace_id, span_id, parent_span_id, name, start_ns, data) VALUES (?, ?, ?, ?, ?, ?)');
    // The first spans of a trace create its row; later ones widen its time range and add to its
    // counts. The root (no parent) names the trace; until it arrives, the earliest span does.
    this.upsertTrace = this.db.prepare(`
      INSERT INTO traces (trace_id, root_name, root_service, first_name, first_service, start_ns, end_ns, span_count, error_count)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (trace_id) DO UPDATE SET
        root_name = COALESCE(traces.root_name, excluded.root_name),
        root_service = COALESCE(traces.root_service, excluded.root_service),
        first_name = CASE WHEN excluded.start_ns < traces.start_ns THEN excluded.first_name ELSE traces.first_name END,
        first_service = CASE WHEN excluded.start_ns < traces.start_ns THEN excluded.first_service ELSE traces.first_service END,
        start_ns = MIN(traces.start_ns, excluded.start_ns),
        end_ns = MAX(traces.end_ns, excluded.end_ns),
        span_count = traces.span_count + excluded.span_count,
        error_count = traces.error_count + excluded.error_count`);
    // One transaction per request: all of its spans are stored, or none. The summary rows get one
    // upsert per trace of the request, not one per span.
    this.insertAll = this.db.transaction((spans: SpanData[]) => {
      const changed = new Map<string, TraceDelta>();
      for (const s of spans) {
        const start = BigInt(s.start_time_unix_nano);
        const { changes } = this.insertSpan.run(s.trace_id, s.span_id, s.parent_span_id, s.name, start, JSON.stringify(s));
        if (changes === 0) continue; // a retried request: already stored
        const end = BigInt(s.end_time_unix_nano);
        let d = changed.get(s.trace_id);
        if (!d) {
          d = { rootName: null, rootService: null, firstName: s.name, firstService: serviceOf(s), start, end, spans: 0, errors: 0 };
          changed.set(s.trace_id, d);
        }
        if (s.parent_span_id === null && d.rootName === null) {
          d.rootName = s.name;
          d.rootService = serviceOf(s);
        }
        if (start < d.start) {
          d.start = start;
          d.firstName = s.name;
          d.firstService = serviceOf(s);
        }
        if (end > d.end) d.end = end;
        d.spans++;
        if (s.status.code === 'ERROR') d.errors++;
      }
      for (const [trace, d] of changed) {
        this.upsertTrace.run(trace, d.rootName, d.rootService, d.firstName, d.firstService, d.start, d.end, d.spans, d.errors);
        this.stored += d.spans;
      }
      if (this.stored > this.maxSpans) this.prune();
      return new Set(changed.keys());
    }) as (spans: SpanData[]) => Set<string>;
  }

  /** Deletes the oldest traces until the store holds at most 90% of maxSpans. */
  private prune(): void {
    const target = Math.floor(this.maxSpans * 0.9);
    const oldest = this.db.prepare('SELECT trace_id, span_count FROM traces ORDER BY start_ns LIMIT 1000');
    const dropSpans = this.db.prepare('DELETE FROM spans WHERE trace_id = ?');
    const dropTrace = this.db.prepare('DELETE FROM traces WHERE trace_id = ?');
    while (this.stored > target) {
      const rows = oldest.all() as Array<{ trace_id: string; span_count: number }>;
      if (!rows.length) break;
      for (const r of rows) {
        if (this.stored <= target) break;
        dropSpans.run(r.trace_id);
        dropTrace.run(r.trace_id);
        this.stored -= Number(r.span_count);
      }
    }
  }

  /** Stores spans (duplicates of stored ones are ignored); returns the ids of the traces that changed. */
  insert(spans: SpanData[]): Set<string> {
    return spans.length ? this.insertAll(spans) : new Set();
  }

  traces(q: TraceQuery = {}): TraceSummary[] {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: Math.max(1, Math.min(q.limit ?? 100, 1000)) };
    if (q.service) {
      where.push('COALESCE(root_service, first_service) = :service');
      params.service = q.service;
    }
    if (q.name) {
      where.push("trace_id IN (SELECT trace_id FROM spans WHERE name LIKE :name ESCAPE '\\')");
      params.name = `%${q.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    }
    if (q.error !== undefined) where.push(q.error ? 'error_count > 0' : 'error_count = 0');
    if (q.minDurationNs !== undefined) {
      where.push('end_ns - start_ns >= :min');
      params.min = q.minDurationNs;
    }
    const rows = this.db.prepare(`
      SELECT trace_id, COALESCE(root_name, first_name) AS root_name, COALESCE(root_service, first_service) AS service,
             start_ns, end_ns - start_ns AS duration_ns, span_count, error_count
      FROM traces ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY start_ns DESC LIMIT :limit`).safeIntegers(true).all(params) as Array<Record<string, string | bigint>>;
    return rows.map((r) => ({
      trace_id: String(r.trace_id),
      root_name: String(r.root_name),
      service: String(r.service),
      start_time_unix_nano: String(r.start_ns),
      duration_ns: String(r.duration_ns),
      span_count: Number(r.span_count),
      error_count: Number(r.error_count),
    }));
  }

  /** The spans of one trace, by start time; empty when unknown. */
  trace(traceId: string): SpanData[] {
    return this.traceLines(traceId).map((line) => JSON.parse(line) as SpanData);
  }

  /** The same spans as their stored JSON lines (the API sends them without parsing them again). */
  traceLines(traceId: string): string[] {
    const rows = this.db.prepare('SELECT data FROM spans WHERE trace_id = ? ORDER BY start_ns, span_id').raw(true).all(traceId.toLowerCase()) as Array<[string]>;
    return rows.map((r) => r[0]);
  }

  services(): string[] {
    const rows = this.db.prepare('SELECT DISTINCT COALESCE(root_service, first_service) AS s FROM traces ORDER BY s').all() as Array<{ s: string }>;
    return rows.map((r) => r.s);
  }

  spanCount(): number {
    return this.stored;
  }

  traceCount(): number {
    return Number((this.db.prepare('SELECT COUNT(*) AS n FROM traces').get() as { n: number }).n);
  }

  close(): void {
    this.db.close();
  }
}
