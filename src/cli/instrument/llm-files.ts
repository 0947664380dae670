/**
 * `cti instrument` for files that go through a model. They run in the main thread (the work is
 * waiting on the provider, and one LlmClient must see every request to keep the budget), at most
 * `concurrency` files at a time. Results that are final (no budget or network failure in them)
 * are stored in the instrumentation cache, so a second run makes no model call.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createTwoFilesPatch } from 'diff';
import { cacheKey, openCache } from '../../core/cache.js';
import { instrumentWithLlm, LessonBook, LlmClient, STATEMENTS_VERSION, type LlmSettings } from '../../core/llm/index.js';
import { PACKAGE_VERSION } from '../../core/version.js';
import { writeOutput, type FileOutcome } from './process-file.js';
import type { PlannedFile } from './plan.js';

/** Bumped when the engine's output for the same answers may change (2: checks (d) and (e) added). */
const LLM_ENGINE_VERSION = '2';

export interface LlmRunOptions {
  settings: LlmSettings;
  cacheDir: string | null;
  dryRun: boolean;
  diff: boolean;
  /** After each model request: the progress line shows the money. */
  onSpend?: (client: LlmClient) => void;
}

export interface LlmRun {
  client: LlmClient;
  run(files: PlannedFile[], onOutcome: (o: FileOutcome) => void): Promise<void>;
}

export function createLlmRun(opts: LlmRunOptions): LlmRun {
  const client = new LlmClient(opts.settings);
  client.onSpend = () => opts.onSpend?.(client);
  const cache = opts.cacheDir === null ? null : openCache({ dir: opts.cacheDir, readOnly: opts.dryRun });
  const lessons = new LessonBook(opts.cacheDir && join(opts.cacheDir, 'llm-lessons'));

  async function one(file: PlannedFile): Promise<FileOutcome> {
    const outcome: FileOutcome = {
      rel: file.rel, status: 'unchanged', cache: cache ? 'miss' : 'off', stats: null, diagnostics: [], mapOutput: null,
      ms: { read: 0, instrument: 0, write: 0 }, warnings: [],
    };
    let t = performance.now();
    let code: string;
    let mode: number;
    try {
      code = await readFile(file.source, 'utf8');
      mode = (await stat(file.source)).mode & 0o7777;
    } catch (e) {
      return { ...outcome, status: 'unreadable', error: (e as Error).message };
    }
    outcome.ms.read = performance.now() - t;
    t = performance.now();
    const language = file.language!;
    const key = cacheKey({
      source: code, relativePath: file.rel, language: `llm-${language}`, languageVersion: `${LLM_ENGINE_VERSION}.${STATEMENTS_VERSION}`,
      packageVersion: PACKAGE_VERSION, configHash: 'llm', runtime: '', moduleType: '', sourceMap: false,
    });
    let result = await cache?.get(key);
    if (result) {
      outcome.cache = 'hit';
    } else if (opts.dryRun) {
      // A dry run stores nothing: paying for answers it would throw away makes no sense.
      return { ...outcome, diagnostics: [{ file: file.source, line: 0, column: 0, severity: 'warning', message: 'dry run: not sent to the model (no cached result)' }] };
    } else {
      try {
        const r = await instrumentWithLlm(code, { filename: file.source, relativePath: file.rel, language, client, lessons });
        result = { code: r.code, map: null, diagnostics: r.diagnostics, stats: r.stats, instrumented: r.instrumented, language, validated: true, filename: file.source };
        if (r.final && cache) await cache.set(key, result);
      } catch (e) {
        result = {
          code, map: null, instrumented: false, language, validated: true, filename: file.source, stats: { functions: 0, variables: 0, branches: 0, loops: 0 },
          diagnostics: [{ file: file.source, line: 0, column: 0, severity: 'error', message: `LLM instrumentation failed: ${(e as Error).message}` }],
        };
      }
    }
    outcome.ms.instrument = performance.now() - t;
    outcome.diagnostics = result.diagnostics.map((d) => ({ ...d, file: d.file === result!.filename ? file.source : d.file }));
    outcome.stats = result.stats;
    outcome.status = result.instrumented ? 'instrumented' : 'unchanged';
    if (opts.diff && result.instrumented) outcome.diff = createTwoFilesPatch(`a/${file.rel}`, `b/${file.rel}`, code, result.code);
    if (opts.dryRun || file.output === null) return outcome;
    await writeOutput(outcome, file.source, file.output, result.instrumented ? result.code : null, mode);
    return outcome;
  }

  return {
    client,
    async run(files, onOutcome) {
      let next = 0;
      const lane = async () => {
        while (next < files.length) onOutcome(await one(files[next++]!));
      };
      await Promise.all(Array.from({ length: Math.min(opts.settings.concurrency, files.length) }, lane));
    },
  };
}
