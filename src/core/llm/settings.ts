/**
 * Which model to ask and how: LLM_* environment variables (as in the original tool), overridden
 * by CLI flags. Prices come from a built-in table that `cti.llm.json` at the root can extend.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type ProviderName = 'ollama' | 'openai' | 'anthropic';
export const PROVIDERS: readonly ProviderName[] = ['ollama', 'openai', 'anthropic'];

/** USD per million tokens. */
export interface Price { input: number; output: number }

export interface LlmSettings {
  provider: ProviderName;
  /** Used round-robin, one per request. */
  models: string[];
  /** undefined: the client library's default (Ollama: http://localhost:11434). */
  baseUrl?: string;
  apiKey?: string;
  timeoutMs: number;
  /** Upper bound of output tokens per request (also what the budget reserves). */
  maxTokens: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Total USD the run may spend; undefined: unlimited. */
  budgetUsd?: number;
  prices: Record<string, Price>;
  /** First backoff after a 429/5xx; doubles per retry. */
  retryBaseMs: number;
  /** Retries of one request after a 429/5xx/timeout (not counting the first try). */
  maxRetries: number;
}

/** Published list prices (USD per million tokens) of common models; local Ollama models cost nothing. */
export const DEFAULT_PRICES: Record<string, Price> = {
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'claude-opus-4-1': { input: 15, output: 75 },
  'claude-sonnet-4-5': { input: 3, output: 15 },
  'claude-haiku-4-5': { input: 1, output: 5 },
  'claude-3-5-haiku-latest': { input: 0.8, output: 4 },
};

export const LLM_CONFIG_FILE = 'cti.llm.json';

export class LlmSettingsError extends Error {}

export interface LlmFlags {
  provider?: string;
  model?: string;
  budget?: number;
  jobs?: number;
}

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new LlmSettingsError(`${name}=${value}: expected a positive number`);
  return n;
}

/** Prices of `cti.llm.json` ({"prices": {"model": {"input": 1, "output": 2}}}) over the defaults. */
export function loadPrices(root: string): Record<string, Price> {
  const file = join(root, LLM_CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { ...DEFAULT_PRICES };
  }
  let json: { prices?: Record<string, Price> };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (e) {
    throw new LlmSettingsError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
  const prices = { ...DEFAULT_PRICES };
  for (const [model, p] of Object.entries(json.prices ?? {})) {
    if (typeof p?.input !== 'number' || typeof p?.output !== 'number' || p.input < 0 || p.output < 0) {
      throw new LlmSettingsError(`${file}: prices.${model} needs non-negative "input" and "output" (USD per million tokens)`);
    }
    prices[model] = { input: p.input, output: p.output };
  }
  return prices;
}

/**
 * The settings, or null when no provider is configured (files of such languages are then copied
 * unchanged). Throws LlmSettingsError for a configuration that cannot work.
 */
export function resolveLlmSettings(env: NodeJS.ProcessEnv, flags: LlmFlags, root: string): LlmSettings | null {
  const provider = (flags.provider ?? env.LLM_PROVIDER)?.trim().toLowerCase();
  if (!provider) return null;
  if (!PROVIDERS.includes(provider as ProviderName)) throw new LlmSettingsError(`unknown LLM provider "${provider}" (expected ${PROVIDERS.join(', ')})`);
  const models = (flags.model ?? env.LLM_MODEL ?? '').split(',').map((m) => m.trim()).filter(Boolean);
  if (models.length === 0) throw new LlmSettingsError('no model: set LLM_MODEL (a comma-separated list rotates) or pass --model');
  const baseUrl = env.LLM_BASE_URL?.trim() || undefined;
  const apiKey = provider === 'openai' ? env.OPENAI_API_KEY : provider === 'anthropic' ? env.ANTHROPIC_API_KEY : undefined;
  // A local OpenAI-compatible server (vLLM, LM Studio, llama.cpp) needs no key; the real API does.
  if (provider === 'openai' && !apiKey && !baseUrl) throw new LlmSettingsError('OPENAI_API_KEY is not set (or set LLM_BASE_URL for an OpenAI-compatible server)');
  if (provider === 'anthropic' && !apiKey) throw new LlmSettingsError('ANTHROPIC_API_KEY is not set');
  const timeoutS = positive(env.LLM_TIMEOUT, 'LLM_TIMEOUT') ?? (provider === 'ollama' ? 300 : 120);
  const budgetUsd = flags.budget ?? positive(env.LLM_BUDGET, 'LLM_BUDGET');
  const prices = loadPrices(root);
  if (provider === 'ollama') for (const m of models) prices[m] ??= { input: 0, output: 0 };
  if (budgetUsd !== undefined) {
    const unpriced = models.filter((m) => !prices[m]);
    if (unpriced.length) throw new LlmSettingsError(`--budget needs a price for ${unpriced.join(', ')}: add it to ${LLM_CONFIG_FILE} ("prices": {"<model>": {"input": <USD per Mtok>, "output": <USD per Mtok>}})`);
  }
  return {
    provider: provider as ProviderName,
    models,
    baseUrl,
    apiKey,
    timeoutMs: Math.round(timeoutS * 1000),
    maxTokens: Math.round(positive(env.LLM_MAX_TOKENS, 'LLM_MAX_TOKENS') ?? 4096),
    concurrency: flags.jobs ?? Math.round(positive(env.LLM_JOBS, 'LLM_JOBS') ?? 2),
    budgetUsd,
    prices,
    retryBaseMs: positive(env.LLM_RETRY_BASE_MS, 'LLM_RETRY_BASE_MS') ?? 1000,
    maxRetries: 3,
  };
}
