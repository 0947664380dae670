import type { Price } from './settings.js';

export interface Usage { inputTokens: number; outputTokens: number }

export const costOf = (usage: Usage, price: Price | undefined): number | null =>
  price ? (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1e6 : null;

/**
 * Money accounting for one run. Before a call, its worst case is reserved: every UTF-8 byte of the
 * prompt counted as a token (BPE tokens are at least a byte) plus the full output cap. A call whose
 * reservation does not fit is not made, so the budget is never exceeded, even with calls in flight.
 */
export class Budget {
  spent = 0;
  /** Some call's model had no price: `spent` is then a lower bound. */
  unpriced = false;
  calls = 0;
  inputTokens = 0;
  outputTokens = 0;
  private reserved = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly limit: number | undefined) {}

  static worstCase(promptBytes: number, maxTokens: number, price: Price | undefined): number {
    return price ? ((promptBytes + 64) * price.input + maxTokens * price.output) / 1e6 : 0;
  }

  /**
   * Reserves `amount`. While other calls hold reservations, waits for them to settle (they usually
   * cost far less than reserved); false (nothing reserved) once it cannot fit.
   */
  async reserve(amount: number): Promise<boolean> {
    while (this.limit !== undefined && this.spent + this.reserved + amount > this.limit + 1e-12) {
      if (this.reserved <= 0) return false;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.reserved += amount;
    return true;
  }

  /**
   * Replaces a reservation by what the call really cost. null: refused before any work (nothing
   * billed); 'unknown': timed out or cut off, so it may have been billed: the worst case is charged.
   */
  settle(reservation: number, usage: Usage | null | 'unknown', price: Price | undefined): void {
    this.reserved -= reservation;
    for (const wake of this.waiters.splice(0)) wake();
    if (usage === 'unknown') {
      this.spent += reservation;
      return;
    }
    if (!usage) return;
    this.calls++;
    this.inputTokens += usage.inputTokens;
    this.outputTokens += usage.outputTokens;
    const cost = costOf(usage, price);
    if (cost === null) this.unpriced = true;
    else this.spent += cost;
  }

  get remaining(): number | undefined {
    return this.limit === undefined ? undefined : Math.max(0, this.limit - this.spent);
  }
}
