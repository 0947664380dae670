import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LlmClient } from '../src/core/llm/client.js';
import { instrumentWithLlm } from '../src/core/llm/engine.js';
import { LessonBook } from '../src/core/llm/lessons.js';
import { DEFAULT_PRICES, type LlmSettings, type ProviderName } from '../src/core/llm/settings.js';
import { answerFor, CALC_BEFORE_RETURN_PLAN, CALC_PLAN } from './llm/answers.js';
import { startFakeLlm, statementsIn, type FakeLlm, type Script } from './llm/fake-llm.js';

const CALC = readFileSync(new URL('./llm/samples/Calc.java', import.meta.url), 'utf8');
let fake: FakeLlm | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function settings(url: string, provider: ProviderName, over: Partial<LlmSettings> = {}): LlmSettings {
  return {
    provider, models: ['m1'], baseUrl: provider === 'openai' ? `${url}/v1` : url, apiKey: 'k', timeoutMs: 2000, maxTokens: 1000,
    concurrency: 2, prices: { ...DEFAULT_PRICES, m1: { input: 1, output: 2 }, m2: { input: 1, output: 2 } }, retryBaseMs: 1, maxRetries: 3, ...over,
  };
}

async function run(script: Script, provider: ProviderName = 'ollama', over: Partial<LlmSettings> = {}, code = CALC, lessons = new LessonBook(null)) {
  fake = await startFakeLlm(script);
  const client = new LlmClient(settings(fake.url, provider, over));
  const result = await instrumentWithLlm(code, { filename: 'Calc.java', relativePath: 'src/Calc.java', language: 'java', client, lessons });
  return { result, client, lessons, fake };
}

const good = (p: string) => ({ text: answerFor(CALC_PLAN, p) });

/** Every original line, in order, in the output. */
function keepsOriginal(output: string, original: string) {
  const out = output.split('\n');
  let i = 0;
  for (const line of original.split('\n')) {
    while (i < out.length && out[i] !== line) i++;
    expect(i, `original line ${JSON.stringify(line)}`).toBeLessThan(out.length);
    i++;
  }
}

describe('LLM engine (fake servers, real clients)', () => {
  for (const provider of ['ollama', 'openai', 'anthropic'] as const) {
    it(`instruments every function from a good ${provider} answer in one call`, async () => {
      const { result, fake: f, client } = await run([good], provider);
      expect(result.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
      expect(result.instrumented).toBe(true);
      expect(result.stats.functions).toBe(3);
      expect(f.requests).toHaveLength(1);
      expect(f.requests[0]!.path).toBe({ ollama: '/api/chat', openai: '/v1/chat/completions', anthropic: '/v1/messages' }[provider]);
      keepsOriginal(result.code, CALC);
      expect(result.code.match(/cti\.enter/g)).toHaveLength(3);
      expect(result.code.match(/cti\.exit/g)).toHaveLength(3);
      expect(result.code.match(/} finally \{/g)).toHaveLength(3);
      expect(client.budget.calls).toBe(1);
      expect(client.budget.inputTokens).toBe(1000);
      expect(client.budget.spent).toBeCloseTo((1000 * 1 + 200 * 2) / 1e6, 9);
    });
  }

  it('tolerates code fences and chatter around the JSON', async () => {
    const { result } = await run([(p) => ({ text: `Sure! Here you go:\n\`\`\`json\n${answerFor(CALC_PLAN, p)}\n\`\`\`\nLet me know.` })]);
    expect(result.stats.functions).toBe(3);
  });

  it('retries a broken-syntax answer with the error fed back, then accepts the fix', async () => {
    const broken = (p: string) => ({ text: answerFor(CALC_BEFORE_RETURN_PLAN, p).replaceAll('System.getenv(\\"CTI_TRACES_FILE\\");', 'System.getenv(\\"CTI_TRACES_FILE\\"') });
    const { result, fake: f, lessons } = await run([broken, good]);
    expect(result.stats.functions).toBe(3);
    expect(f.requests).toHaveLength(2);
    expect(f.requests[1]!.prompt).toContain('Your previous answer for this function was rejected');
    expect(f.requests[1]!.prompt).toMatch(/does not parse|no entry statement/);
    expect(lessons.list('java').some((l) => l.fix)).toBe(true);
  });

  it('keeps lessons per language on disk and puts them into later prompts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-lessons-'));
    try {
      const noExit = (p: string) => ({ text: answerFor({ 1: CALC_BEFORE_RETURN_PLAN[1]!.slice(0, 1), 2: CALC_PLAN[2]!, 3: CALC_PLAN[3]! }, p) });
      await run([noExit, good], 'ollama', {}, CALC, new LessonBook(dir));
      await fake!.close();
      const book = new LessonBook(dir);
      expect(book.list('java').some((l) => /has no exit statement/.test(l.problem) && l.fix)).toBe(true);
      const { fake: f } = await run([good], 'ollama', {}, CALC, book);
      expect(f.requests[0]!.prompt).toMatch(/Mistakes made before in Java files[\s\S]*has no exit statement[\s\S]*what worked/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects answers that open a comment over original code, and gives up after 3 attempts', async () => {
    // The "exit" opens a block comment that swallows the original lines up to the next "*/".
    const sneaky = (p: string) => ({ text: JSON.stringify({ insertions: [{ function: 1, line: 2, where: 'after', code: '/*' }, { function: 1, line: 4, where: 'after', code: '*/' }] }) });
    const { result, fake: f } = await run([sneaky]);
    expect(f.requests).toHaveLength(3);
    expect(result.instrumented).toBe(false);
    expect(result.code).toBe(CALC);
    const warning = result.diagnostics.find((d) => d.message.startsWith('add left uninstrumented'));
    expect(warning?.message).toMatch(/rejected 3 times/);
  });

  it('rejects answers that add code of their own or wrap part of a body, however well they parse', async () => {
    const insertions = (p: string, extra: (s: { enter: string; exit: string }) => Array<{ line: number; where: string; code: string }>) => {
      const s = statementsIn(p, 2);
      return { text: JSON.stringify({ insertions: extra(s).map((i) => ({ function: 2, ...i })) }) };
    };
    const answers = {
      'its own statement': (p: string) => insertions(p, (s) => [{ line: 7, where: 'after', code: `${s.enter}\nSystem.exit(3);\ntry {` }, { line: 12, where: 'before', code: `} finally {\n${s.exit}\n}` }]),
      'a block around original lines': (p: string) => insertions(p, (s) => [{ line: 7, where: 'after', code: `${s.enter}\ntry {` }, { line: 8, where: 'before', code: 'if (x < 0) {' }, { line: 10, where: 'after', code: '}' }, { line: 12, where: 'before', code: `} finally {\n${s.exit}\n}` }]),
      'a finally in the middle': (p: string) => insertions(p, (s) => [{ line: 7, where: 'after', code: `${s.enter}\ntry {` }, { line: 10, where: 'after', code: `} finally {\n${s.exit}\n}` }]),
    };
    for (const [what, answer] of Object.entries(answers)) {
      const { result, fake: f } = await run([answer]);
      expect(f.requests, what).toHaveLength(3);
      expect(result.code, what).toBe(CALC);
      expect(result.diagnostics.find((d) => d.message.startsWith('twice left uninstrumented'))?.message, what).toMatch(/rejected 3 times; last: inserted code .* adds code of its own/);
      expect(f.requests[1]!.prompt, what).toMatch(/nothing else, plus `try \{` right after the entry statement/);
      await f.close();
    }
  });

  it('rejects a statement inserted where it joins an original statement (Ruby `y =` continued on the next line)', async () => {
    const ruby = 'def total(a)\n  y =\n    a * 2\n  y\nend\n';
    const joining = (p: string) => {
      const s = statementsIn(p, 1);
      return { text: JSON.stringify({ insertions: [{ function: 1, line: 1, where: 'after', code: s.enter }, { function: 1, line: 2, where: 'after', code: s.enter }, { function: 1, line: 5, where: 'before', code: `ensure\n  ${s.exit}` }] }) };
    };
    fake = await startFakeLlm([joining]);
    const client = new LlmClient(settings(fake.url, 'ollama'));
    const result = await instrumentWithLlm(ruby, { filename: 'total.rb', relativePath: 'total.rb', language: 'ruby', client, lessons: new LessonBook(null) });
    expect(fake.requests).toHaveLength(3);
    expect(result.code).toBe(ruby);
    expect(result.diagnostics.find((d) => d.severity === 'warning')?.message).toMatch(/inserted code changes how original line 3 is read \(at "a"\)/);
  });

  it('rejects insertion points outside the function and answers missing an exit before a return', async () => {
    const plan = { ...CALC_BEFORE_RETURN_PLAN, 2: CALC_BEFORE_RETURN_PLAN[2]!.filter((s) => s.line !== 9) };
    const outside = (p: string) => ({ text: answerFor({ ...plan, 1: [{ kind: 'enter', line: 1, where: 'before' }] }, p) });
    const { result, fake: f } = await run([outside]);
    expect(f.requests).toHaveLength(3);
    expect(result.stats.functions).toBe(1); // main
    const messages = result.diagnostics.map((d) => d.message).join('\n');
    expect(messages).toMatch(/add left uninstrumented: .*not inside the function/);
    expect(messages).toMatch(/twice left uninstrumented: .*line 9 returns without the exit statement/);
    expect(result.code).toContain(CALC.split('\n').slice(1, 12).join('\n')); // add and twice untouched
  });

  it('detects a refusal (text, OpenAI refusal field, Anthropic stop_reason) and does not retry it', async () => {
    for (const [provider, reply] of [['ollama', { text: "I'm sorry, but I can't help with that." }], ['openai', { refusal: 'no' }], ['anthropic', { refusal: 'no' }]] as const) {
      const { result, fake: f } = await run([reply], provider);
      expect(f.requests).toHaveLength(1);
      expect(result.code).toBe(CALC);
      expect(result.diagnostics.find((d) => d.severity === 'warning')?.message).toMatch(/declined/);
      expect(result.final).toBe(true);
      await f.close();
    }
  });

  it('retries 429 and 500 with backoff, rotating models round-robin', async () => {
    const { result, fake: f } = await run([{ status: 429, retryAfter: '0' }, { status: 500 }, good], 'openai', { models: ['m1', 'm2'] });
    expect(result.stats.functions).toBe(3);
    expect(f.requests.map((r) => r.model)).toEqual(['m1', 'm2', 'm1']);
  });

  it('retries an overloaded Anthropic (529) and gives up after 3 retries, keeping the file', async () => {
    const { result, fake: f } = await run([{ status: 529, message: 'Overloaded' }], 'anthropic');
    expect(f.requests).toHaveLength(4);
    expect(result.code).toBe(CALC);
    expect(result.final).toBe(false);
    expect(result.diagnostics.some((d) => /model request failed: .*529/.test(d.message))).toBe(true);
  });

  it('times out a slow answer (LLM_TIMEOUT) and retries', async () => {
    const { result, fake: f } = await run([(p) => ({ ...good(p), delayMs: 1500 }), good], 'ollama', { timeoutMs: 300 });
    expect(f.requests).toHaveLength(2);
    expect(result.stats.functions).toBe(3);
  });

  it('never passes the budget: a budget too small for one call makes no call', async () => {
    const { result, fake: f, client } = await run([good], 'openai', { budgetUsd: 0.001 });
    expect(f.requests).toHaveLength(0);
    expect(client.budget.spent).toBe(0);
    expect(result.code).toBe(CALC);
    expect(result.diagnostics.some((d) => /budget exhausted/.test(d.message))).toBe(true);
  });

  it('stops calling when the next call could pass the budget', async () => {
    // Worst case of one call: (prompt bytes + 64) * $1/Mtok + 1000 tokens * $2/Mtok ≈ $0.0055.
    // Each answer is rejected (no insertions) and costs $0.0054; a second call's worst case no longer fits in $0.01.
    const broken = { text: '{"insertions": []}', inputTokens: 5000 };
    const { client, fake: f, result } = await run([broken], 'openai', { budgetUsd: 0.01 });
    expect(f.requests).toHaveLength(1);
    expect(client.budget.spent).toBeCloseTo(0.0054, 9);
    expect(result.diagnostics.some((d) => /budget exhausted/.test(d.message))).toBe(true);
  });
});
