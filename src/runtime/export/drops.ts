import { stderrLine } from './warn.js';

/**
 * Counts spans an exporter had to give up on, and says so once, at exit: a telemetry
 * problem is worth one line on the program's stderr, not one per batch.
 */
export class DropCounter {
  count = 0;
  private reason = '';
  private reported = 0;

  constructor(private readonly write: (line: string) => void = stderrLine) {}

  /** `weak` reasons (queue full, deadline) only fill in when no real failure was seen. */
  add(spans: number, reason: string, weak = false): void {
    if (spans <= 0) return;
    this.count += spans;
    if (!weak || !this.reason) this.reason = reason;
  }

  /**
   * Prints what was dropped since the last report. Normally called once, at exit; a
   * flushSync() from a crash monitor that the program survives must not swallow later drops.
   */
  report(): void {
    const n = this.count - this.reported;
    if (n <= 0) return;
    const more = this.reported > 0 ? ' more' : '';
    this.reported = this.count;
    this.write(`dropped ${n}${more} span${n === 1 ? '' : 's'}: ${this.reason}`);
  }
}
