/**
 * Every model request of a run goes through one LlmClient: it rotates the models round-robin,
 * limits requests in flight, checks the budget before each request and retries 429/5xx/timeouts
 * with exponential backoff (or the server's Retry-After), a bounded number of times.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Budget } from './budget.js';
import { createProvider, ProviderError, type ChatAnswer, type Provider } from './provider.js';
import type { LlmSettings } from './settings.js';

export type AskResult =
  | { ok: true; answer: ChatAnswer; model: string }
  /** kind 'budget': not asked, the budget cannot cover the call; 'error': failed (after retries). */
  | { ok: false; kind: 'budget' | 'error'; reason: string };

const MAX_BACKOFF_MS = 30_000;

export class LlmClient {
  readonly budget: Budget;
  private turn = 0;
  private active = 0;
  private readonly queue: Array<() => void> = [];
  /** Called after every settled request (progress display). */
  onSpend?: () => void;

  constructor(readonly settings: LlmSettings, private readonly provider: Provider = createProvider(settings)) {
    this.budget = new Budget(settings.budgetUsd);
  }

  private async slot(): Promise<void> {
    if (this.active < this.settings.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.active--;
  }

  async ask(system: string, user: string): Promise<AskResult> {
    const promptBytes = Buffer.byteLength(system) + Buffer.byteLength(user);
    let last = '';
    for (let attempt = 0; attempt <= this.settings.maxRetries; attempt++) {
      const model = this.settings.models[this.turn++ % this.settings.models.length]!;
      const price = this.settings.prices[model];
      const reservation = Budget.worstCase(promptBytes, this.settings.maxTokens, price);
      if (!(await this.budget.reserve(reservation))) {
        return { ok: false, kind: 'budget', reason: `budget exhausted (spent $${this.budget.spent.toFixed(4)} of $${this.budget.limit}; this call could cost up to $${reservation.toFixed(4)})` };
      }
      await this.slot();
      let error: ProviderError | undefined;
      try {
        const answer = await this.provider.chat({ model, system, user, maxTokens: this.settings.maxTokens });
        this.budget.settle(reservation, answer.usage ?? 'unknown', price);
        return { ok: true, answer, model };
      } catch (e) {
        error = e instanceof ProviderError ? e : new ProviderError((e as Error).message, false);
        this.budget.settle(reservation, error.maybeBilled ? 'unknown' : null, price);
      } finally {
        this.release();
        this.onSpend?.();
      }
      last = `${model}: ${error.message}`;
      if (!error.retryable || attempt === this.settings.maxRetries) break;
      const backoff = error.retryAfterMs ?? this.settings.retryBaseMs * 2 ** attempt;
      await sleep(Math.min(backoff, MAX_BACKOFF_MS));
    }
    return { ok: false, kind: 'error', reason: last };
  }
}
