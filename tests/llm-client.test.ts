import { afterEach, describe, expect, it } from 'vitest';
import { LlmClient } from '../src/core/llm/client.js';
import { resolveLlmSettings, LlmSettingsError, type LlmSettings } from '../src/core/llm/settings.js';
import { startFakeLlm, type FakeLlm } from './llm/fake-llm.js';

let fake: FakeLlm | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const settings = (url: string, over: Partial<LlmSettings> = {}): LlmSettings => ({
  provider: 'openai', models: ['m'], baseUrl: `${url}/v1`, timeoutMs: 2000, maxTokens: 1000, concurrency: 2,
  prices: { m: { input: 1, output: 2 } }, retryBaseMs: 1, maxRetries: 3, ...over,
});

describe('LLM client', () => {
  it('keeps at most --jobs requests in flight', async () => {
    fake = await startFakeLlm([{ text: '{}', delayMs: 80 }]);
    const client = new LlmClient(settings(fake.url, { concurrency: 2 }));
    const results = await Promise.all(Array.from({ length: 6 }, () => client.ask('s', 'u')));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(fake.requests).toHaveLength(6);
    expect(fake.maxInFlight).toBe(2);
  });

  it('never passes the budget with requests in flight: reservations count before answers arrive', async () => {
    // Worst case per request: (66 bytes) * $1/Mtok + 1000 * $2/Mtok ≈ $0.00207; real cost $0.0014.
    // Two fit at once; the third waits for them to settle ($0.0028 spent) and fits; a fourth cannot.
    fake = await startFakeLlm([{ text: '{}', delayMs: 50 }]);
    const client = new LlmClient(settings(fake.url, { concurrency: 8, budgetUsd: 0.005 }));
    const results = await Promise.all(Array.from({ length: 8 }, () => client.ask('s', 'u')));
    expect(fake.maxInFlight).toBe(2);
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(results.filter((r) => !r.ok && r.kind === 'budget')).toHaveLength(5);
    expect(fake.requests).toHaveLength(3);
    expect(client.budget.spent).toBeCloseTo(0.0042, 9);
    expect(client.budget.spent).toBeLessThanOrEqual(0.005);
  });

  it('does not retry a 400', async () => {
    fake = await startFakeLlm([{ status: 400, message: 'bad model' }]);
    const r = await new LlmClient(settings(fake.url)).ask('s', 'u');
    expect(r).toMatchObject({ ok: false, kind: 'error' });
    expect(fake.requests).toHaveLength(1);
  });
});

describe('LLM settings', () => {
  const env = (e: Record<string, string>) => e as NodeJS.ProcessEnv;
  it('reads the variables of the original tool; flags win', () => {
    expect(resolveLlmSettings(env({}), {}, '/nonexistent')).toBeNull();
    const s = resolveLlmSettings(env({ LLM_PROVIDER: 'ollama', LLM_MODEL: 'a, b', LLM_TIMEOUT: '7' }), {}, '/nonexistent')!;
    expect(s).toMatchObject({ provider: 'ollama', models: ['a', 'b'], timeoutMs: 7000, baseUrl: undefined });
    expect(s.prices.a).toEqual({ input: 0, output: 0 });
    const o = resolveLlmSettings(env({ LLM_PROVIDER: 'ollama', LLM_MODEL: 'a', OPENAI_API_KEY: 'k' }), { provider: 'openai', model: 'gpt-4o-mini', budget: 1 }, '/nonexistent')!;
    expect(o).toMatchObject({ provider: 'openai', models: ['gpt-4o-mini'], apiKey: 'k', budgetUsd: 1, timeoutMs: 120_000 });
  });
  it('refuses configurations that cannot work', () => {
    expect(() => resolveLlmSettings(env({ LLM_PROVIDER: 'gemini', LLM_MODEL: 'x' }), {}, '/')).toThrow(LlmSettingsError);
    expect(() => resolveLlmSettings(env({ LLM_PROVIDER: 'ollama' }), {}, '/')).toThrow(/no model/);
    expect(() => resolveLlmSettings(env({ LLM_PROVIDER: 'anthropic', LLM_MODEL: 'x' }), {}, '/')).toThrow(/ANTHROPIC_API_KEY/);
    expect(() => resolveLlmSettings(env({ LLM_PROVIDER: 'openai', LLM_MODEL: 'x' }), {}, '/')).toThrow(/OPENAI_API_KEY/);
    expect(() => resolveLlmSettings(env({ LLM_PROVIDER: 'openai', LLM_MODEL: 'x', LLM_BASE_URL: 'http://h/v1' }), { budget: 1 }, '/nonexistent')).toThrow(/needs a price for x/);
  });
});
