/**
 * Runs a program as written and instrumented, side by side, and returns both outcomes and the
 * spans the instrumented run exported. Every instrumentation test is built on this.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import MagicString from 'magic-string';
import { instrument } from '../../src/core/index.js';
import type { InstrumentOptions, InstrumentResult } from '../../src/core/types.js';
import type { SpanData } from '../../src/runtime/span-data.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const RUNTIME = join(REPO, 'dist/runtime/node.js');
const TMP = join(REPO, 'tests/.tmp');

export interface Outcome {
  stdout: string;
  stderr: string;
  status: number | null;
}

export interface BothResult {
  original: Outcome;
  instrumented: Outcome;
  spans: SpanData[];
  results: Record<string, InstrumentResult>;
  dir: string;
  /** Whether the instrumented run created the CTI_TRACES_FILE at all. */
  tracesWritten: boolean;
}

export interface RunBothOptions {
  env?: Record<string, string>;
  config?: InstrumentOptions['config'];
  nodeArgs?: string[];
  instrumentOnly?: string[];
  /**
   * What the host tells instrument() about the module system. 'auto' applies Node's rule as
   * `cti instrument` does: .mjs/.cjs by extension, .js/.jsx by the nearest package.json "type"
   * (the repository's own, "module", above the fixture). Default: nothing (the syntax decides).
   */
  moduleType?: 'auto' | 'esm' | 'cjs';
  /**
   * A build step after instrumenting (e.g. TypeScript's transpileModule, see ./transpile.ts):
   * applied alike to both copies of every file it returns a result for, written as `name` next
   * to the source. Run the entry by its output name.
   */
  transpile?: (name: string, code: string) => { name: string; code: string } | null;
  /** Set CTI_TRACES_FILE for the instrumented run (default true). */
  tracesFile?: boolean;
}

/** Node's module type of a fixture file, as `cti instrument` resolves it (see RunBothOptions.moduleType). */
function nodeModuleType(name: string, files: Record<string, string>): 'esm' | 'cjs' | undefined {
  if (/\.mjs$/i.test(name)) return 'esm';
  if (/\.cjs$/i.test(name)) return 'cjs';
  if (!/\.jsx?$/i.test(name)) return undefined;
  for (let d = dirname(name); ; d = dirname(d)) {
    const pkg = files[d === '.' ? 'package.json' : `${d}/package.json`];
    if (pkg !== undefined) return (JSON.parse(pkg) as { type?: string }).type === 'module' ? 'esm' : 'cjs';
    if (d === '.' || d === dirname(d)) return 'esm';
  }
}

let counter = 0;

/** Writes `files` twice (as is, and instrumented) and runs `node <entry>` in each copy. */
export async function runBoth(
  files: Record<string, string>,
  entry: string,
  options: RunBothOptions = {},
): Promise<BothResult> {
  const dir = join(TMP, `run-${process.pid}-${counter++}`);
  rmSync(dir, { recursive: true, force: true });
  const results: Record<string, InstrumentResult> = {};
  for (const [name, code] of Object.entries(files)) {
    const orig = join(dir, 'orig', name);
    const inst = join(dir, 'inst', name);
    mkdirSync(dirname(orig), { recursive: true });
    mkdirSync(dirname(inst), { recursive: true });
    writeFileSync(orig, code);
    const wanted = !options.instrumentOnly || options.instrumentOnly.includes(name);
    const r = wanted && /\.[cm]?[jt]sx?$/.test(name)
      ? await instrument(code, {
        filename: orig, root: join(dir, 'orig'), runtime: RUNTIME, config: options.config,
        moduleType: options.moduleType === 'auto' ? nodeModuleType(name, files) : options.moduleType,
      })
      : null;
    if (r) results[name] = r;
    if (r?.map) {
      // The original gets an identity map, so that under --enable-source-maps both runs
      // print their stack traces the same way.
      const identity = new MagicString(code).generateMap({ source: orig, includeContent: true, hires: 'boundary' });
      writeFileSync(`${orig}.map`, JSON.stringify(identity));
      writeFileSync(orig, `${code}\n//# sourceMappingURL=${basename(name)}.map`);
      writeFileSync(`${inst}.map`, JSON.stringify(r.map));
      writeFileSync(inst, `${r.code}\n//# sourceMappingURL=${basename(name)}.map`);
    } else {
      writeFileSync(inst, r ? r.code : code);
    }
    const built = options.transpile && [options.transpile(name, code), options.transpile(name, r ? r.code : code)];
    if (built && built[0] && built[1]) {
      writeFileSync(join(dir, 'orig', built[0].name), built[0].code);
      writeFileSync(join(dir, 'inst', built[1].name), built[1].code);
    }
  }
  const traces = join(dir, 'spans.jsonl');
  const run = (sub: string, env: Record<string, string>): Outcome => {
    const p = spawnSync(process.execPath, [...(options.nodeArgs ?? []), entry], {
      cwd: join(dir, sub),
      env: { PATH: process.env.PATH ?? '', ...options.env, ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
    // Paths differ between the two copies; everything else must match.
    const clean = (s: string) => s.split(join(dir, sub)).join('<dir>');
    return { stdout: clean(p.stdout), stderr: clean(p.stderr), status: p.status };
  };
  const original = run('orig', {});
  const instrumented = run('inst', options.tracesFile === false ? {} : { CTI_TRACES_FILE: traces });
  const tracesWritten = existsSync(traces);
  const spans = tracesWritten
    ? readFileSync(traces, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as SpanData)
    : [];
  if (!process.env.CTI_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  return { original, instrumented, spans, results, dir, tracesWritten };
}

export { spanTree } from '../../src/cli/span-tree.js';

export function byName(spans: SpanData[], name: string): SpanData[] {
  return spans.filter((s) => s.name === name);
}

/** Events of one kind as compact tuples, e.g. var → [name, value, line]. */
export function events(span: SpanData, kind: 'cti.var' | 'cti.branch' | 'cti.loop' | 'exception'): unknown[][] {
  return span.events.filter((e) => e.name === kind).map((e) => Object.values(e.attributes));
}
