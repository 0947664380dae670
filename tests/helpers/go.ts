/**
 * Builds a Go module plain and with `-toolexec bin/cti-go`, runs both binaries and reads the
 * spans of the instrumented run. The Go tests and the conformance runner are built on this.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SpanData } from '../../src/runtime/span-data.js';
import { REPO } from './run-both.js';

export const CTI_GO = join(REPO, 'bin/cti-go');
const TMP = join(REPO, 'tests/.tmp/go');

export interface Outcome {
  stdout: string;
  stderr: string;
  status: number | null;
}

/** Runs a command; throws with its output when it fails (unless `allowFail`). */
export function sh(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; allowFail?: boolean } = {}): Outcome {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  const out = { stdout: r.stdout, stderr: r.stderr, status: r.status };
  if (!opts.allowFail && r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${opts.cwd}) exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return out;
}

export function tmpDir(prefix: string): string {
  mkdirSync(TMP, { recursive: true });
  return mkdtempSync(join(TMP, `${prefix}-`));
}

/** `go build` of `pkg` in `dir`, plain and instrumented, with the same extra flags. */
export function buildBoth(dir: string, opts: { pkg?: string; flags?: string[]; env?: Record<string, string> } = {}): { plain: string; instrumented: string } {
  const out = tmpDir('bin');
  const plain = join(out, 'plain');
  const instrumented = join(out, 'instrumented');
  const flags = opts.flags ?? [];
  sh('go', ['build', ...flags, '-o', plain, opts.pkg ?? '.'], { cwd: dir, env: opts.env });
  const r = sh('go', ['build', '-toolexec', CTI_GO, ...flags, '-o', instrumented, opts.pkg ?? '.'], { cwd: dir, env: opts.env });
  // Nothing is printed on success.
  if (r.stdout || r.stderr) throw new Error(`instrumented build printed:\n${r.stdout}${r.stderr}`);
  return { plain, instrumented };
}

/** Runs a binary with CTI_TRACES_FILE set; returns its outcome and the spans it wrote. */
export function runTraced(bin: string, args: string[] = [], env: Record<string, string> = {}): Outcome & { spans: SpanData[] } {
  const traces = join(tmpDir('traces'), 'spans.jsonl');
  const r = sh(bin, args, { env: { CTI_TRACES_FILE: traces, ...env }, allowFail: true });
  return { ...r, spans: readSpans(traces) };
}

export function readSpans(file: string): SpanData[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as SpanData);
}

/**
 * A crash report with what legitimately differs between two builds of a program removed:
 * program counters, frame offsets and argument words (instrumented functions are not inlined,
 * so the runtime prints their arguments instead of `...`), goroutine ids stay.
 */
export function normalizeCrash(stderr: string): string {
  return stderr
    .replace(/pc=0x[0-9a-f]+/g, 'pc=?')
    .replace(/ \+0x[0-9a-f]+$/gm, '')
    .replace(/^(\S+)\((?:[^()]*)\)$/gm, '$1(…)');
}

/** `go test` output with the durations (the only thing that may differ) blanked out. */
export function normalizeTestOutput(out: string): string {
  return out.replace(/\(\d+\.\d+s\)/g, '(…s)').replace(/\t\d+\.\d+s/g, '\t…s');
}

/**
 * `go test -count=1 [flags] ./...` in `dir`, plain and instrumented (the latter with
 * CTI_TRACES_FILE set to `traces`, by default a new file whose spans are returned).
 */
export function goTestBoth(dir: string, flags: string[] = [], env: Record<string, string> = {}, traces = join(tmpDir('traces'), 'spans.jsonl')): { plain: Outcome; instrumented: Outcome; spans: SpanData[] } {
  const plain = sh('go', ['test', '-count=1', ...flags, './...'], { cwd: dir, env, allowFail: true });
  const instrumented = sh('go', ['test', '-count=1', '-toolexec', CTI_GO, ...flags, './...'], { cwd: dir, env: { ...env, CTI_TRACES_FILE: traces }, allowFail: true });
  return { plain, instrumented, spans: readSpans(traces) };
}
