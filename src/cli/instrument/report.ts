import { relative, resolve } from 'node:path';
import type { Diagnostic, InstrumentStats } from '../../core/types.js';
import { toPosix } from './paths.js';

export interface FileReport {
  /** Path relative to the root. */
  file: string;
  output: string | null;
  action: 'instrumented' | 'copied';
  /** Why the file is copied as it is. */
  reason?: string;
  cache: 'hit' | 'miss' | 'off' | null;
  stats: InstrumentStats | null;
  /** Their `file` is relative to the root, like `file` above. */
  diagnostics: Diagnostic[];
  diff?: string;
}

/** The --json document. */
export interface RunSummary {
  dryRun: boolean;
  root: string;
  out: string | null;
  cacheDir: string | null;
  files: number;
  instrumented: number;
  copied: number;
  cacheHits: number;
  /** Files with at least one error diagnostic (parse error, failed validation, instrumenter crash). */
  errors: number;
  durationMs: number;
  results: FileReport[];
  /** Model use of LLM-assisted files, when a provider was configured and used. */
  llm?: { provider: string; models: string[]; calls: number; inputTokens: number; outputTokens: number; spentUsd: number; costComplete: boolean; budgetUsd: number | null };
}

export function summarize(base: Pick<RunSummary, 'dryRun' | 'root' | 'out' | 'cacheDir'>, results: FileReport[], durationMs: number): RunSummary {
  const instrumented = results.filter((r) => r.action === 'instrumented').length;
  return {
    ...base,
    files: results.length,
    instrumented,
    copied: results.length - instrumented,
    cacheHits: results.filter((r) => r.cache === 'hit').length,
    errors: results.filter(hasError).length,
    durationMs: Math.round(durationMs * 10) / 10,
    results,
  };
}

export const hasError = (r: FileReport) => r.diagnostics.some((d) => d.severity === 'error');

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : word.endsWith('ch') ? 'es' : 's'}`;

export function describeStats(s: InstrumentStats): string {
  return [plural(s.functions, 'function'), plural(s.variables, 'variable'), plural(s.branches, 'branch'), plural(s.loops, 'loop')].join(', ');
}

/** The --dry-run line of one file: what would be written and why. */
export function dryRunLine(r: FileReport): string {
  if (r.action === 'instrumented') {
    return `${r.file}: instrument: ${r.stats ? describeStats(r.stats) : ''}${r.cache === 'hit' ? ' (cached)' : ''}`;
  }
  return `${r.file}: copy: ${r.reason ?? 'unchanged'}`;
}

/** `file:line:col: message`, with the file relative to the current directory so terminals can open it. */
export function formatDiagnostic(d: Diagnostic, root: string, cwd: string): string {
  const file = toPosix(relative(cwd, resolve(root, d.file))) || d.file;
  return d.line > 0 ? `${file}:${d.line}:${d.column}: ${d.message}` : `${file}: ${d.message}`;
}

export function summaryLine(s: RunSummary, outShown: string | null): string {
  const parts = [`${plural(s.copied, 'file')} copied`, plural(s.cacheHits, 'cache hit'), plural(s.errors, 'error')];
  const where = outShown ? ` into ${outShown}` : '';
  const verb = s.dryRun ? 'dry run: would instrument' : 'instrumented';
  if (s.llm) {
    const money = `$${s.llm.spentUsd.toFixed(4)}${s.llm.costComplete ? '' : '+ (some models have no price)'}${s.llm.budgetUsd === null ? '' : ` of $${s.llm.budgetUsd}`}`;
    parts.push(`${plural(s.llm.calls, 'model call')}, ${money} spent`);
  }
  return `cti: ${verb} ${s.instrumented} of ${plural(s.files, 'file')}${where} (${parts.join(', ')}) in ${Math.round(s.durationMs)} ms`;
}
