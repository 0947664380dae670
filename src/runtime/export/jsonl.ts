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
  readonly drops: DropCounter;

  constructor(readonly path: string, report?: (line: string) => void) {
    this.drops = new DropCounter(report);
  }

  export(batch: SpanData[]): void {
    let text = '';
    for (const span of batch) text += `${JSON.stringify(span)}\n`;
    this.appendLines(text, batch.length);
  }

  /** Appends `count` spans already encoded as JSON lines (the runtime's fast path). */
  appendLines(text: string, count: number): void {
    if (count === 0) return;
    try {
      const data = Buffer.from(text);
      if (this.fd === null) {
        mkdirSync(dirname(this.path), { recursive: true });
        this.fd = openSync(this.path, 'a');
      }
      // Regular files take the whole buffer in one call; the loop only guards odd targets (FIFOs).
      for (let off = 0; off < data.length; ) off += writeSync(this.fd, data, off);
    } catch (e) {
      this.drops.add(count, `could not write ${this.path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
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
