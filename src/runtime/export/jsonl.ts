import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SpanData, SpanExporter } from '../span-data.js';
import { DropCounter } from './drops.js';

/**
 * Appends spans to a JSONL file (CTI_TRACES_FILE), one span per line. Each batch is one
 * write(2) on an O_APPEND descriptor, so several processes sharing the file never
 * interleave inside a line. Synchronous on purpose: it works unchanged in 'exit'.
 */
export class JsonlExporter implements SpanExporter {
  private fd: number | null = null;
  private buffer = Buffer.alloc(0);
  readonly drops: DropCounter;

  constructor(readonly path: string, report?: (line: string) => void) {
    this.drops = new DropCounter(report);
  }

  export(batch: SpanData[]): void {
    this.appendLines(batch.map((span) => JSON.stringify(span)));
  }

  /**
   * Appends spans already encoded as JSON (the runtime's fast path). The lines are written
   * into one reused buffer: joining them into a string first would make V8 flatten a long
   * rope, which costs more than the encoding.
   */
  appendLines(lines: string[]): void {
    if (lines.length === 0) return;
    try {
      let size = 0;
      for (const line of lines) size += Buffer.byteLength(line) + 1;
      if (this.buffer.length < size) this.buffer = Buffer.allocUnsafe(Math.max(size, this.buffer.length * 2));
      const data = this.buffer;
      let end = 0;
      for (const line of lines) {
        end += data.write(line, end);
        data[end++] = 0x0a;
      }
      if (this.fd === null) {
        mkdirSync(dirname(this.path), { recursive: true });
        this.fd = openSync(this.path, 'a');
      }
      // Regular files take the whole buffer in one call; the loop only guards odd targets (FIFOs).
      for (let off = 0; off < end; ) off += writeSync(this.fd, data, off, end - off);
    } catch (e) {
      this.drops.add(lines.length, `could not write ${this.path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      // Reopen next time: the directory may come back, the disk may free up.
      this.close();
    }
  }

  flushSync(): void {
    this.drops.report();
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** Releases the descriptor (tests; the process exit does it otherwise). */
  close(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // Already gone.
    }
    this.fd = null;
  }
}
