/** Attribute values as exported; previews are strings, counts and lines are numbers. */
export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;

export interface SpanEventData {
  name: string;
  /** Unix time in nanoseconds, as a decimal string (it does not fit a double). */
  time_unix_nano: string;
  attributes: Attributes;
}

/** One finished span: exactly one line of a CTI_TRACES_FILE (docs/telemetry.md). */
export interface SpanData {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  attributes: Attributes;
  events: SpanEventData[];
  dropped_events_count: number;
  status: { code: 'OK' | 'ERROR'; message?: string };
  resource: Attributes;
}

/** Receives finished spans in batches. Never throws, never blocks the caller. */
export interface SpanExporter {
  export(batch: SpanData[]): void;
  /** Last chance at process exit: must finish synchronously. */
  flushSync(): void;
  /** Resolves when everything handed over so far was sent (or given up on). */
  flush(): Promise<void>;
}
