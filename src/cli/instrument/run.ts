import { existsSync } from 'node:fs';
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Tinypool from 'tinypool';
import { resolveCacheDir } from '../../core/cache.js';
import { configHash, loadConfig } from '../../core/config.js';
import type { Diagnostic } from '../../core/types.js';
import { CliError, EXIT_OK, EXIT_STRICT_FAILURE, EXIT_USAGE, type CliIo } from '../context.js';
import { openDebugLog, type DebugLog } from '../debug-log.js';
import type { ModuleType } from './module-type.js';
import { toPosix } from './paths.js';
import { planFiles, type PlannedFile } from './plan.js';
import { processFile, type FileOutcome, type FileTask } from './process-file.js';
import { createProgress } from './progress.js';
import { createLlmRun, type LlmRun } from './llm-files.js';
import { LlmSettingsError, resolveLlmSettings, type LlmFlags } from '../../core/llm/index.js';
import { dryRunLine, formatDiagnostic, hasError, summarize, summaryLine, type FileReport } from './report.js';

export interface InstrumentRunOptions {
  paths: string[];
  out?: string;
  root?: string;
  dryRun: boolean;
  diff: boolean;
  jobs?: number;
  cacheDir?: string;
  /** false for --no-cache. */
  cache: boolean;
  json: boolean;
  validate: boolean;
  debugLog?: string;
  strict: boolean;
  runtime: string;
  moduleType: 'auto' | ModuleType;
  /** --provider, --model, --budget (LLM-assisted languages); --jobs also caps requests in flight. */
  llm?: LlmFlags;
}

const WORKER_FILE = fileURLToPath(new URL('./worker.js', import.meta.url));
const COPY_CONCURRENCY = 16;

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

/**
 * Runs every task, in worker threads when more than one is useful. Worker start-up costs
 * tens of milliseconds, so a single file (or --jobs 1) stays in this thread.
 */
async function runTasks(tasks: FileTask[], jobs: number, onOutcome: (o: FileOutcome) => void, log: DebugLog): Promise<void> {
  const threads = Math.min(jobs, tasks.length);
  // Running from the TypeScript sources (no compiled worker.js beside us): stay in-process.
  if (threads <= 1 || !existsSync(WORKER_FILE)) {
    log.write('execute', { mode: 'in-process', tasks: tasks.length });
    for (const task of tasks) onOutcome(await processFile(task));
    return;
  }
  log.write('execute', { mode: 'worker-threads', threads, tasks: tasks.length });
  const pool = new Tinypool({ filename: WORKER_FILE, minThreads: threads, maxThreads: threads });
  try {
    await Promise.all(tasks.map(async (task) => onOutcome((await pool.run(task)) as FileOutcome)));
  } finally {
    await pool.destroy();
  }
}

async function runLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Diagnostics name the absolute input; reports use the root-relative path. */
function relabel(diagnostics: Diagnostic[], planned: PlannedFile, root: string): Diagnostic[] {
  return diagnostics.map((d) => ({ ...d, file: d.file === planned.source ? planned.rel : toPosix(relative(root, resolve(d.file))) }));
}

function reasonUnchanged(diagnostics: Diagnostic[]): string {
  const why = diagnostics.find((d) => d.severity === 'error') ?? diagnostics.find((d) => d.severity === 'warning');
  return why ? `not instrumented: ${why.message}` : 'nothing to instrument';
}

export async function runInstrument(opts: InstrumentRunOptions, io: CliIo): Promise<number> {
  const started = performance.now();
  if (opts.diff && !opts.dryRun) throw new CliError('--diff only works with --dry-run');
  if (!opts.out && !opts.dryRun) throw new CliError("missing required option '--out <dir>'");
  const root = resolve(io.cwd, opts.root ?? '.');
  if (!(await isDirectory(root))) throw new CliError(`--root ${opts.root}: not a directory`);
  const config = loadConfig(root);
  const out = opts.out ? resolve(io.cwd, opts.out) : null;
  const jobs = opts.jobs ?? availableParallelism();
  let llmSettings;
  try {
    llmSettings = resolveLlmSettings(io.env, { ...opts.llm, jobs: opts.llm?.jobs ?? opts.jobs }, root);
  } catch (e) {
    if (e instanceof LlmSettingsError) throw new CliError(e.message);
    throw e;
  }
  const log = openDebugLog(opts.debugLog && resolve(io.cwd, opts.debugLog));
  try {
    log.write('config', { root, out, configHash: configHash(config), include: config.include, exclude: config.exclude, jobs, validate: opts.validate, dryRun: opts.dryRun });
    let t = performance.now();
    const plan = await planFiles(opts.paths, { cwd: io.cwd, root, out, outGiven: opts.out, config, moduleType: opts.moduleType, llm: llmSettings !== null });
    log.write('discover', { files: plan.length, ms: performance.now() - t });
    for (const p of plan) log.write('plan', { file: p.rel, decision: p.action, reason: p.reason, moduleType: p.moduleType });

    const cacheDir = opts.cache ? resolveCacheDir({ root, dir: opts.cacheDir && resolve(io.cwd, opts.cacheDir), env: io.env }) : null;
    log.write('cache', { dir: cacheDir, readOnly: opts.dryRun });
    const tasks: FileTask[] = plan.filter((p) => p.action === 'instrument').map((p) => ({
      source: p.source, rel: p.rel, output: p.output, root, config, runtime: opts.runtime, moduleType: p.moduleType,
      cacheDir, validate: opts.validate, dryRun: opts.dryRun, diff: opts.diff,
    }));

    const progress = createProgress(io.stderr, plan.length);
    const outcomes = new Map<string, FileOutcome>();
    const warned = new Set<string>();
    const failures: string[] = [];
    await runTasks(tasks, jobs, (o) => {
      outcomes.set(o.rel, o);
      log.write('read', { file: o.rel, ms: o.ms.read });
      log.write('instrument', { file: o.rel, cache: o.cache, ms: o.ms.instrument, result: o.status, stats: o.stats, diagnostics: o.diagnostics.length, error: o.error });
      if (!opts.dryRun && o.status !== 'unreadable') log.write('write', { file: o.rel, ms: o.ms.write, map: o.mapOutput });
      for (const w of o.warnings) {
        if (!warned.has(w)) io.stderr.write(`cti: warning: ${w}\n`);
        warned.add(w);
      }
      if (o.status === 'unreadable') failures.push(`cannot read ${o.rel}: ${o.error}`);
      if (o.status === 'unwritable') failures.push(`cannot write the output of ${o.rel}: ${o.error}`);
      progress.fileDone(o.cache === 'hit', o.diagnostics.some((d) => d.severity === 'error'));
    }, log);

    let llmRun: LlmRun | undefined;
    const llmFiles = plan.filter((p) => p.action === 'llm');
    if (llmSettings && llmFiles.length > 0) {
      llmRun = createLlmRun({ settings: llmSettings, cacheDir, dryRun: opts.dryRun, diff: opts.diff, onSpend: (c) => progress.money(c.budget.spent, c.budget.remaining) });
      log.write('llm', { provider: llmSettings.provider, models: llmSettings.models, files: llmFiles.length, budgetUsd: llmSettings.budgetUsd, concurrency: llmSettings.concurrency });
      await llmRun.run(llmFiles, (o) => {
        outcomes.set(o.rel, o);
        log.write('instrument', { file: o.rel, via: 'llm', cache: o.cache, ms: o.ms.instrument, result: o.status, stats: o.stats, diagnostics: o.diagnostics.length, error: o.error });
        if (o.status === 'unreadable') failures.push(`cannot read ${o.rel}: ${o.error}`);
        if (o.status === 'unwritable') failures.push(`cannot write the output of ${o.rel}: ${o.error}`);
        progress.fileDone(o.cache === 'hit', o.diagnostics.some((d) => d.severity === 'error'));
      });
    }

    // Copies run last: a copied `x.js.map` from the input must not replace the map just generated for x.js.
    const generatedMaps = new Map<string, string>();
    for (const o of outcomes.values()) if (o.mapOutput) generatedMaps.set(o.mapOutput, o.rel);
    const copyNotes = new Map<string, string>();
    await runLimited(plan.filter((p) => p.action === 'copy'), COPY_CONCURRENCY, async (p) => {
      const mapOf = p.output && generatedMaps.get(p.output);
      if (mapOf) {
        copyNotes.set(p.rel, `replaced by the source map generated for ${mapOf}`);
      } else if (!opts.dryRun && p.output) {
        t = performance.now();
        try {
          await mkdir(resolve(p.output, '..'), { recursive: true });
          await copyFile(p.source, p.output);
        } catch (e) {
          failures.push(`cannot copy ${p.rel}: ${(e as Error).message}`);
        }
        log.write('copy', { file: p.rel, ms: performance.now() - t });
      }
      progress.fileDone(false, false);
    });
    progress.stop();

    const results: FileReport[] = plan.map((p) => {
      const o = outcomes.get(p.rel);
      if (!o) return { file: p.rel, output: p.output, action: 'copied', reason: copyNotes.get(p.rel) ?? p.reason, cache: null, stats: null, diagnostics: [] };
      const diagnostics = relabel(o.diagnostics, p, root);
      const instrumented = o.status === 'instrumented';
      return {
        file: p.rel, output: p.output, action: instrumented ? 'instrumented' : 'copied',
        ...(instrumented ? {} : { reason: reasonUnchanged(diagnostics) }),
        cache: o.cache, stats: o.stats, diagnostics, ...(o.diff === undefined ? {} : { diff: o.diff }),
      };
    });
    const summary = summarize({ dryRun: opts.dryRun, root, out, cacheDir }, results, performance.now() - started);
    if (llmRun && llmSettings) {
      const b = llmRun.client.budget;
      summary.llm = {
        provider: llmSettings.provider, models: llmSettings.models, calls: b.calls, inputTokens: b.inputTokens, outputTokens: b.outputTokens,
        spentUsd: Math.round(b.spent * 1e6) / 1e6, costComplete: !b.unpriced, budgetUsd: llmSettings.budgetUsd ?? null,
      };
    }
    log.write('summary', { ...summary, results: undefined });

    if (opts.dryRun && !opts.json) {
      for (const r of results) {
        io.stdout.write(`${dryRunLine(r)}\n`);
        if (r.diff) io.stdout.write(r.diff.endsWith('\n') ? r.diff : `${r.diff}\n`);
      }
    }
    for (const r of results) {
      for (const d of r.diagnostics) if (d.severity !== 'info') io.stderr.write(`${formatDiagnostic(d, root, io.cwd)}\n`);
    }
    if (opts.json) io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else io.stderr.write(`${summaryLine(summary, opts.out ?? null)}\n`);

    for (const f of failures) io.stderr.write(`cti: ${f}\n`);
    if (failures.length > 0) return EXIT_USAGE;
    if (opts.strict && results.some(hasError)) return EXIT_STRICT_FAILURE;
    return EXIT_OK;
  } finally {
    log.close();
  }
}
