/**
 * Python counterpart of run-both.ts: writes a project, runs `python <entry>` as written and
 * under the import hook of `cti py hook`, and returns both outcomes and the exported spans.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SpanData } from '../../src/runtime/span-data.js';
import { REPO, type Outcome } from './run-both.js';

export const PYTHON = process.env.CTI_PYTHON ?? 'python3';
const TMP = join(REPO, 'tests/.tmp');
let counter = 0;

export interface PyBothResult {
  original: Outcome;
  instrumented: Outcome;
  spans: SpanData[];
  /** What `cti py hook` printed. */
  hook: Outcome;
}

export function runBothPy(files: Record<string, string>, entry: string, options: { env?: Record<string, string>; python?: string; args?: string[] } = {}): PyBothResult {
  const dir = join(TMP, `py-${process.pid}-${counter++}`);
  rmSync(dir, { recursive: true, force: true });
  const project = join(dir, 'project');
  for (const [name, code] of Object.entries(files)) {
    mkdirSync(dirname(join(project, name)), { recursive: true });
    writeFileSync(join(project, name), code);
  }
  const boot = join(dir, 'boot');
  const h = spawnSync(process.execPath, [join(REPO, 'bin/cti.js'), 'py', 'hook', '--out', boot, '--root', project], { encoding: 'utf8' });
  const hook = { stdout: h.stdout, stderr: h.stderr, status: h.status };
  if (h.status !== 0) throw new Error(`cti py hook failed: ${h.stderr}`);
  const traces = join(dir, 'spans.jsonl');
  const run = (env: Record<string, string>): Outcome => {
    const p = spawnSync(options.python ?? PYTHON, [...(options.args ?? []), entry], {
      cwd: project,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PYTHONDONTWRITEBYTECODE: '1', ...options.env, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { stdout: p.stdout, stderr: p.stderr, status: p.status };
  };
  const original = run({});
  const instrumented = run({ PYTHONPATH: boot, CTI_TRACES_FILE: traces });
  const spans = existsSync(traces)
    ? readFileSync(traces, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as SpanData)
    : [];
  if (!process.env.CTI_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  return { original, instrumented, spans, hook };
}
