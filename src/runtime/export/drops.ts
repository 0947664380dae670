import { stderrLine } from './warn.js';

/**
 * Counts spans an exporter had to give up on, and says so once, at exit: a telemetry
 * problem is worth one line on the program's stderr, not one per batch.
 */
export class DropCounter {
  count = 0;
  private reason = '';
  private reported = false;

  constructor(private readonly write: (line: string) => void = stderrLine) {}

  /** `weak` reasons (queue full, deadline) only fill in when no real failure was seen. */
  add(spans: number, reason: string, weak = false): void {
    if (spans <= 0) return;
    this.count += spans;
    if (!weak || !this.reason) this.reason = reason;
  }

  report(): void {
    if (this.reported || this.count === 0) return;
    this.reported = true;
    this.write(`dropped ${this.count} span${this.count === 1 ? '' : 's'}: ${this.reason}`);
  }
}
