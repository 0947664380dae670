/**
 * `cti instrument` on a mixed-language tree with a (fake) Ollama configured as the README shows,
 * then the instrumented Java, C, C++, Rust, Bash, Ruby and PHP samples compiled and run (where the toolchain exists),
 * and their event streams turned into spans by `cti ingest`.
 */
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpanData } from '../src/runtime/span-data.js';
import { sampleModel } from './llm/answers.js';
import { startFakeLlm, type FakeLlm } from './llm/fake-llm.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(REPO, 'bin/cti.js');
const DIR = join(REPO, 'tests/.tmp/llm-cli');
const SAMPLES = join(REPO, 'tests/llm/samples');

let fake: FakeLlm;

/** The CLI, asynchronously: the fake model answers from this process. */
async function cti(args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd: DIR, env: { ...process.env, CTI_CACHE_DIR: join(DIR, 'cache'), LLM_PROVIDER: '', ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const has = (tool: string) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;

const ollama = () => ({ LLM_PROVIDER: 'ollama', LLM_MODEL: 'qwen-a,qwen-b', LLM_BASE_URL: fake.url, LLM_RETRY_BASE_MS: '1' });

beforeAll(async () => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(join(DIR, 'proj/src'), { recursive: true });
  cpSync(SAMPLES, join(DIR, 'proj/src'), { recursive: true });
  writeFileSync(join(DIR, 'proj/src/math.js'), 'export function sum(a, b) {\n  return a + b;\n}\n');
  writeFileSync(join(DIR, 'proj/README.md'), '# mixed\n');
  writeFileSync(join(DIR, 'proj/package.json'), '{"type":"module"}\n');
  fake = await startFakeLlm([sampleModel]);
});
afterAll(async () => {
  await fake?.close();
});

describe('cti instrument with an LLM provider', () => {
  it('without a provider, copies other languages unchanged and reports them as skipped', async () => {
    const r = await cti(['instrument', 'proj', '--out', 'plain', '--json', '--root', 'proj']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { results: Array<{ file: string; action: string; reason?: string }> };
    const java = summary.results.find((x) => x.file === 'src/Calc.java')!;
    expect(java).toMatchObject({ action: 'copied' });
    expect(java.reason).toMatch(/skipped, no LLM provider configured/);
    expect(readFileSync(join(DIR, 'plain/src/Calc.java'), 'utf8')).toBe(readFileSync(join(SAMPLES, 'Calc.java'), 'utf8'));
    expect(summary.results.find((x) => x.file === 'src/math.js')).toMatchObject({ action: 'instrumented' });
    expect(fake.requests).toHaveLength(0);
  });

  it('instruments a mixed tree, then a second run is served from the cache with zero model calls', async () => {
    const r = await cti(['instrument', 'proj', '--out', 'out', '--json', '--root', 'proj'], ollama());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { instrumented: number; llm: { calls: number; models: string[] }; results: Array<{ file: string; action: string; stats: { functions: number } | null }> };
    for (const f of ['src/Calc.java', 'src/calc.c', 'src/calc.cpp', 'src/calc.rs', 'src/calc.sh', 'src/calc.rb', 'src/calc.php', 'src/math.js']) {
      expect(summary.results.find((x) => x.file === f), f).toMatchObject({ action: 'instrumented' });
    }
    expect(summary.results.find((x) => x.file === 'src/calc.rs')!.stats!.functions).toBe(3);
    expect(summary.llm).toMatchObject({ calls: 7, models: ['qwen-a', 'qwen-b'] });
    expect(new Set(fake.requests.map((q) => q.model))).toEqual(new Set(['qwen-a', 'qwen-b']));
    expect(fake.requests.every((q) => q.path === '/api/chat')).toBe(true);

    const again = await cti(['instrument', 'proj', '--out', 'out2', '--root', 'proj'], ollama());
    expect(again.code).toBe(0);
    expect(fake.requests).toHaveLength(7);
    expect(again.stderr).toMatch(/0 model calls/);
    expect(readFileSync(join(DIR, 'out2/src/Calc.java'), 'utf8')).toBe(readFileSync(join(DIR, 'out/src/Calc.java'), 'utf8'));
  });

  it('refuses a budget it cannot price, and makes no call when the budget is too small', async () => {
    const before = fake.requests.length;
    const unpriced = await cti(['instrument', 'proj', '--out', 'o3', '--root', 'proj', '--provider', 'openai', '--model', 'mystery', '--budget', '1'], { ...ollama(), LLM_BASE_URL: `${fake.url}/v1` });
    expect(unpriced.code).toBe(2);
    expect(unpriced.stderr).toMatch(/--budget needs a price for mystery/);
    writeFileSync(join(DIR, 'proj/cti.llm.json'), JSON.stringify({ prices: { mystery: { input: 100, output: 100 } } }));
    const tiny = await cti(['instrument', 'proj', '--out', 'o4', '--root', 'proj', '--no-cache', '--provider', 'openai', '--model', 'mystery', '--budget', '0.01', '--json'], { ...ollama(), LLM_BASE_URL: `${fake.url}/v1` });
    rmSync(join(DIR, 'proj/cti.llm.json'));
    expect(tiny.code).toBe(0);
    expect(fake.requests.length).toBe(before);
    const summary = JSON.parse(tiny.stdout) as { llm: { calls: number; spentUsd: number } };
    expect(summary.llm).toMatchObject({ calls: 0, spentUsd: 0 });
    expect(tiny.stderr).toMatch(/budget exhausted/);
  });

  /** Runs the instrumented program with CTI_TRACES_FILE, ingests the events, checks main → twice → add. */
  async function traced(command: string, args: string[], cwd: string) {
    const traces = join(cwd, 'events.jsonl');
    rmSync(traces, { force: true });
    const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, CTI_TRACES_FILE: traces } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('6');
    const ingest = await cti(['ingest', traces, '--service', 'calc']);
    expect(ingest.code).toBe(0);
    const spans = ingest.stdout.trim().split('\n').map((l) => JSON.parse(l) as SpanData);
    expect(spans.map((s) => s.name).sort()).toEqual(['add', 'main', 'twice']);
    const by = (n: string) => spans.find((s) => s.name === n)!;
    expect(by('main').parent_span_id).toBeNull();
    expect(by('twice').parent_span_id).toBe(by('main').span_id);
    expect(by('add').parent_span_id).toBe(by('twice').span_id);
    expect(new Set(spans.map((s) => s.trace_id)).size).toBe(1);
    for (const s of spans) {
      expect(s.status.code).toBe('OK');
      expect(BigInt(s.end_time_unix_nano) >= BigInt(s.start_time_unix_nano)).toBe(true);
      expect(s.resource['service.name']).toBe('calc');
    }
    return spans;
  }

  it.skipIf(!has('javac'))('the instrumented Java sample compiles, runs and gives main → twice → add', async () => {
    const dir = join(DIR, 'out/src');
    expect(spawnSync('javac', ['-d', join(DIR, 'java-classes'), join(dir, 'Calc.java')], { encoding: 'utf8' }).status).toBe(0);
    const spans = await traced('java', ['-cp', join(DIR, 'java-classes'), 'Calc'], dir);
    expect(spans.find((s) => s.name === 'add')!.attributes).toMatchObject({ 'code.file.path': 'src/Calc.java', 'code.line.number': 2, 'cti.lang': 'java' });
  });

  it.skipIf(!has('gcc'))('the instrumented C sample compiles with -Wall -Werror, runs and gives main → twice → add', async () => {
    const dir = join(DIR, 'out/src');
    const cc = spawnSync('gcc', ['-std=c11', '-Wall', '-Werror', '-o', join(DIR, 'calc-c'), join(dir, 'calc.c')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    await traced(join(DIR, 'calc-c'), [], dir);
  });

  it.skipIf(!has('g++'))('the instrumented C++ sample compiles with -Wall -Werror, runs and gives main → twice → add', async () => {
    const dir = join(DIR, 'out/src');
    const cc = spawnSync('g++', ['-std=c++17', '-Wall', '-Werror', '-o', join(DIR, 'calc-cpp'), join(dir, 'calc.cpp')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    await traced(join(DIR, 'calc-cpp'), [], dir);
  });

  it.skipIf(!has('bash'))('the instrumented Bash sample prints and returns the same (set -eu, $? kept) and gives main → twice → add', async () => {
    const dir = join(DIR, 'out/src');
    const plain = spawnSync('bash', [join(SAMPLES, 'calc.sh')], { encoding: 'utf8' });
    const traces = join(dir, 'bash-events.jsonl');
    rmSync(traces, { force: true });
    const run = spawnSync('bash', [join(dir, 'calc.sh')], { encoding: 'utf8', env: { ...process.env, CTI_TRACES_FILE: traces } });
    expect([run.stdout, run.stderr, run.status]).toEqual([plain.stdout, plain.stderr, plain.status]);
    expect(plain.stdout).toBe('6\nfailing returned 1\n4\n');
    const ingest = await cti(['ingest', traces]);
    const spans = ingest.stdout.trim().split('\n').map((l) => JSON.parse(l) as SpanData);
    const by = (n: string) => spans.find((s) => s.name === n)!;
    expect(spans.map((s) => s.name).sort()).toEqual(['add', 'add', 'failing', 'main', 'twice', 'twice']);
    expect(by('twice').parent_span_id).toBe(by('main').span_id);
    expect(by('add').parent_span_id).toBe(by('twice').span_id);
    expect(by('failing').parent_span_id).toBe(by('main').span_id);
    // An unwritable CTI_TRACES_FILE changes nothing either.
    const unwritable = spawnSync('bash', [join(dir, 'calc.sh')], { encoding: 'utf8', env: { ...process.env, CTI_TRACES_FILE: '/nonexistent/dir/events' } });
    expect([unwritable.stdout, unwritable.stderr, unwritable.status]).toEqual([plain.stdout, plain.stderr, plain.status]);
  });

  /** Same output and exit status as the original, and the spans main → twice → add. */
  async function sameAsOriginal(command: string, file: string) {
    const plain = spawnSync(command, [join(SAMPLES, file)], { encoding: 'utf8' });
    expect([plain.stdout, plain.status]).toEqual(['6\n', 0]);
    const spans = await traced(command, [join(DIR, 'out/src', file)], join(DIR, 'out/src'));
    expect(spans.find((s) => s.name === 'add')!.attributes).toMatchObject({ 'code.file.path': `src/${file}` });
  }

  it.skipIf(!has('ruby'))('the instrumented Ruby sample runs the same (ensure keeps the value) and gives main → twice → add', async () => {
    await sameAsOriginal('ruby', 'calc.rb');
  });

  it.skipIf(!has('php'))('the instrumented PHP sample runs the same and gives main → twice → add', async () => {
    await sameAsOriginal('php', 'calc.php');
  });

  it.skipIf(!has('rustc'))('the instrumented Rust sample compiles, runs and gives main → twice → add', async () => {
    const dir = join(DIR, 'out/src');
    const rc = spawnSync('rustc', ['-o', join(DIR, 'calc-rs'), join(dir, 'calc.rs')], { encoding: 'utf8' });
    expect(rc.status, rc.stderr).toBe(0);
    await traced(join(DIR, 'calc-rs'), [], dir);
  });
});
