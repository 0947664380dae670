/**
 * Helpers for tests/third-party.test.ts: fetch a package from the npm registry, install what its
 * suite needs, make an original and an instrumented copy, run its own test command, and read and
 * check the spans it exported.
 */
import { spawn, spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { PackageSpec } from './packages.js';
import type { SpanData } from '../../src/runtime/span-data.js';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  ms: number;
}

/** Runs a command to its end without blocking the test worker (installs run side by side). */
export function run(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : null;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms: performance.now() - start });
    });
  });
}

/** Throws with the command's output unless it exited 0. */
export async function runOk(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<RunResult> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${options.cwd}) exited ${r.code ?? r.signal}\nstdout: ${r.stdout.slice(-4000)}\nstderr: ${r.stderr.slice(-4000)}`);
  }
  return r;
}

/** Whether the npm registry answers: `npm view <pkg>@<version> version` must print the version. */
export function registryReachable(pkg: string, version: string): { ok: true } | { ok: false; reason: string } {
  // No retries: an unreachable registry should be told in seconds, not after npm's backoff.
  const r = spawnSync('npm', ['view', `${pkg}@${version}`, 'version', '--fetch-retries=0', '--fetch-timeout=30000'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return { ok: false, reason: `could not run npm: ${r.error.message}` };
  if (r.status === 0 && r.stdout.trim() === version) return { ok: true };
  const lines = (r.stderr || r.stdout).split('\n').map((l) => l.replace(/^npm (error|ERR!) ?/, '').trim()).filter(Boolean);
  const why = (lines.filter((l) => /^code |request to|reason:/.test(l)).slice(0, 2).join(' | ') || lines.slice(0, 3).join(' | ')).slice(0, 300);
  return { ok: false, reason: `\`npm view ${pkg}@${version} version\` exited ${r.status ?? r.signal}: ${why}` };
}

/** Every .js/.cjs/.mjs file below `dir`, relative to it, `/`-separated, sorted. */
export function jsFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(full);
      } else if (/\.[cm]?js$/.test(entry.name)) {
        files.push(relative(dir, full).split('\\').join('/'));
      }
    }
  };
  walk(dir);
  return files.sort();
}

/** The packages that files below `dir` require or import (bare specifiers, Node built-ins left out). */
export function requiredPackages(dir: string): string[] {
  const builtins = new Set(builtinModules);
  const names = new Set<string>();
  for (const file of jsFiles(dir)) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const m of text.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)|\bfrom\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) continue;
      const parts = spec.split('/');
      const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
      if (!builtins.has(name)) names.add(name);
    }
  }
  return [...names].sort();
}

/** Splits a package.json script into words (single and double quotes, no expansions). */
export function words(command: string): string[] {
  const out: string[] = [];
  for (const m of command.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/**
 * The package's test command as node arguments: its script without coverage wrappers, the first
 * word resolved to the bin of that name in node_modules (`tape` → node_modules/tape/bin/tape).
 */
export function testCommand(pkgDir: string, spec: PackageSpec): string[] {
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const script = pkg.scripts?.[spec.script.key];
  if (script !== spec.script.command) {
    throw new Error(`${spec.name}@${spec.version}: scripts["${spec.script.key}"] is ${JSON.stringify(script)}, expected ${JSON.stringify(spec.script.command)}`);
  }
  const argv = words(script);
  while (argv.length > 0 && spec.wrappers.includes(argv[0])) argv.shift();
  const [bin, ...args] = argv;
  const binPkg = JSON.parse(readFileSync(join(pkgDir, 'node_modules', bin, 'package.json'), 'utf8')) as { bin?: string | Record<string, string> };
  const binPath = typeof binPkg.bin === 'string' ? binPkg.bin : binPkg.bin?.[bin];
  if (!binPath) throw new Error(`node_modules/${bin} has no bin "${bin}"`);
  return [join('node_modules', bin, binPath), ...args];
}

/**
 * Installs exactly what the suite needs into the extracted package: its runtime dependencies and the
 * test files' requirements, at the pinned versions. package.json is swapped for the install (npm would
 * otherwise install every devDependency: linters, bundlers, coverage) and restored byte for byte.
 */
export async function installTestDependencies(pkgDir: string, spec: PackageSpec, env: NodeJS.ProcessEnv): Promise<RunResult> {
  const file = join(pkgDir, 'package.json');
  const original = readFileSync(file);
  const pkg = JSON.parse(original.toString('utf8')) as Record<string, unknown>;
  const declared = { ...(pkg.dependencies as Record<string, string> | undefined), ...(pkg.devDependencies as Record<string, string> | undefined) };
  const undeclared = Object.keys(spec.testDependencies).filter((n) => !(n in declared));
  if (undeclared.length > 0) throw new Error(`${spec.name}: not in its package.json: ${undeclared.join(', ')}`);
  const runtime = Object.keys((pkg.dependencies as Record<string, string> | undefined) ?? {}).sort();
  if (runtime.join() !== Object.keys(spec.dependencies).sort().join()) {
    throw new Error(`${spec.name}: its dependencies are ${runtime.join(', ') || 'none'}, the spec pins ${Object.keys(spec.dependencies).join(', ') || 'none'}`);
  }
  const { scripts: _scripts, devDependencies: _dev, dependencies: _deps, ...rest } = pkg;
  writeFileSync(file, JSON.stringify({ ...rest, dependencies: spec.dependencies, devDependencies: spec.testDependencies }, null, 2));
  try {
    return await runOk('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', '--loglevel=error'], {
      cwd: pkgDir,
      env,
      timeoutMs: 170_000,
    });
  } finally {
    writeFileSync(file, original);
  }
}

// ---------------------------------------------------------------------------------------------
// Spans

/** One line of a CTI_TRACES_FILE. */
export type SpanRecord = SpanData;

export function readSpans(file: string): SpanRecord[] {
  const text = readFileSync(file, 'utf8');
  const spans: SpanRecord[] = [];
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line === '') continue;
    try {
      spans.push(JSON.parse(line) as SpanRecord);
    } catch (e) {
      throw new Error(`${file}:${lineNo} is not JSON (${(e as Error).message}): ${line.slice(0, 200)}`);
    }
  }
  return spans;
}

export const fileOf = (s: SpanRecord) => s.attributes['code.file.path'] as string;
export const lineOf = (s: SpanRecord) => s.attributes['code.line.number'] as number;

/** A list of problems, reported whole (at most `max`, with the count of the rest). */
export class Problems {
  readonly list: string[] = [];
  count = 0;
  constructor(private readonly max = 25) {}
  add(p: string): void {
    this.count++;
    if (this.list.length < this.max) this.list.push(p);
  }
  report(): string[] {
    return this.count > this.list.length ? [...this.list, `… and ${this.count - this.list.length} more`] : this.list;
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const wordRe = (w: string) => new RegExp(`(^|[^\\w$#])${escapeRe(w)}($|[^\\w$])`);

const BRANCH_TOKEN: Record<string, RegExp> = {
  if: /\bif\b/,
  'else if': /\belse\s+if\b/,
  else: /\belse\b/,
  case: /\bcase\b/,
  default: /\bdefault\b/,
  ternary: /\?/,
  'ternary else': /:/,
};

/**
 * Checks each span's location against the ORIGINAL source: `code.file.path` is relative and names an
 * instrumented file; `code.line.number` is a line of it holding the function's name (its last
 * segment: `merge.<anonymous>` → `function`/`=>`); each event's line holds the variable's name, the
 * loop's keyword or the branch's token.
 */
export function locationProblems(spans: SpanRecord[], source: (path: string) => string[] | undefined): Problems {
  const problems = new Problems();
  for (const s of spans) {
    const path = fileOf(s);
    if (typeof path !== 'string' || path.startsWith('/') || path.includes('\\') || path.split('/').includes('..')) {
      problems.add(`${s.name}: code.file.path ${JSON.stringify(path)} is not relative to the package root`);
      continue;
    }
    const lines = source(path);
    if (!lines) {
      problems.add(`${s.name}: code.file.path ${path} is not an instrumented file`);
      continue;
    }
    const at = (n: unknown) => (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= lines.length ? lines[n - 1] : undefined);
    const fnLine = at(lineOf(s));
    const last = s.name.split('.').pop() ?? '';
    if (s.name !== s.attributes['code.function.name']) problems.add(`${path}: name ${s.name} differs from code.function.name ${s.attributes['code.function.name']}`);
    if (fnLine === undefined) problems.add(`${s.name}: ${path}:${lineOf(s)} is not a line of the file`);
    else if (last === '<anonymous>' ? !/\bfunction\b|=>/.test(fnLine) : !wordRe(last).test(fnLine)) {
      problems.add(`${s.name} at ${path}:${lineOf(s)}: the line does not hold ${last === '<anonymous>' ? '`function` or `=>`' : `"${last}"`}: ${fnLine.trim()}`);
    }
    for (const e of s.events) {
      if (e.name === 'exception') continue;
      const n = e.attributes['code.line.number'];
      const line = at(n);
      if (line === undefined) {
        problems.add(`${s.name}: ${e.name} at ${path}:${n} is not a line of the file`);
        continue;
      }
      if (e.name === 'cti.var') {
        const base = String(e.attributes['cti.var.name']).split('.')[0];
        if (!wordRe(base).test(line)) problems.add(`${s.name}: cti.var ${e.attributes['cti.var.name']} at ${path}:${n}: ${line.trim()}`);
      } else if (e.name === 'cti.loop') {
        const kind = String(e.attributes['cti.loop.kind']);
        const token = kind === 'do-while' ? /\bdo\b|\bwhile\b/ : kind.startsWith('for') ? /\bfor\b/ : /\bwhile\b/;
        const iterations = e.attributes['cti.loop.iterations'];
        if (!token.test(line)) problems.add(`${s.name}: cti.loop ${kind} at ${path}:${n}: ${line.trim()}`);
        if (typeof iterations !== 'number' || iterations < 1) problems.add(`${s.name}: cti.loop at ${path}:${n} has iterations ${iterations}`);
      } else if (e.name === 'cti.branch') {
        const kind = String(e.attributes['cti.branch.kind']);
        const token = BRANCH_TOKEN[kind];
        if (!token || !token.test(line)) problems.add(`${s.name}: cti.branch ${kind} at ${path}:${n}: ${line.trim()}`);
      } else {
        problems.add(`${s.name}: unknown event ${e.name}`);
      }
    }
  }
  return problems;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/**
 * Ids, parents and times. Every parent_span_id must name a span of the file in the same trace whose
 * time encloses the child's: qs, minimist and shell-quote are synchronous, so a call ends before its
 * caller does. (A parent could only be missing if it were still open when the process exited — a
 * function that called process.exit(), a generator never finished — which none of these suites do:
 * tape ends when its streams are done and the process exits once the event loop is empty.)
 */
export function parentProblems(spans: SpanRecord[]): Problems {
  const problems = new Problems();
  const byId = new Map<string, SpanRecord>();
  for (const s of spans) {
    if (!HEX32.test(s.trace_id) || /^0+$/.test(s.trace_id)) problems.add(`${s.name}: bad trace_id ${s.trace_id}`);
    if (!HEX16.test(s.span_id) || /^0+$/.test(s.span_id)) problems.add(`${s.name}: bad span_id ${s.span_id}`);
    if (byId.has(s.span_id)) problems.add(`span_id ${s.span_id} appears twice`);
    byId.set(s.span_id, s);
  }
  for (const s of spans) {
    const start = BigInt(s.start_time_unix_nano);
    const end = BigInt(s.end_time_unix_nano);
    if (end < start) problems.add(`${s.name}: ends before it starts`);
    if (s.parent_span_id === null) continue;
    const p = byId.get(s.parent_span_id);
    if (!p) {
      problems.add(`${fileOf(s)} ${s.name}: parent ${s.parent_span_id} is not in the file`);
      continue;
    }
    if (p.trace_id !== s.trace_id) problems.add(`${s.name}: trace ${s.trace_id} but its parent ${p.name} is in ${p.trace_id}`);
    if (start < BigInt(p.start_time_unix_nano) || end > BigInt(p.end_time_unix_nano)) {
      problems.add(`${s.name} [${s.start_time_unix_nano}, ${s.end_time_unix_nano}] is not within its parent ${p.name} [${p.start_time_unix_nano}, ${p.end_time_unix_nano}]`);
    }
  }
  return problems;
}

/** The 1-based number of the one line of `lines` that matches `re` (throws unless exactly one does). */
export function findLine(lines: string[], re: RegExp, what: string): number {
  const hits = lines.flatMap((l, i) => (re.test(l) ? [i + 1] : []));
  if (hits.length !== 1) throw new Error(`${what}: ${re} matches ${hits.length} lines (${hits.join(', ')})`);
  return hits[0];
}

/** TAP output made comparable: the copy's own path and any durations replaced. */
export function normalizeOutput(text: string, dir: string): string[] {
  return text
    .split(dir)
    .join('<pkg>')
    .replace(/\b\d+(\.\d+)?\s?ms\b/g, '<n>ms')
    .split('\n');
}

/** The first line where two outputs differ, with context, or null when they are equal. */
export function firstDifference(a: string[], b: string[]): string | null {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      const from = Math.max(0, i - 3);
      return [
        `line ${i + 1} differs (${a.length} vs ${b.length} lines)`,
        '--- original',
        ...a.slice(from, i + 4),
        '+++ instrumented',
        ...b.slice(from, i + 4),
      ].join('\n');
    }
  }
  return null;
}

export function tapCounts(stdout: string): { tests?: number; pass?: number; fail?: number } {
  const num = (re: RegExp) => {
    const m = re.exec(stdout);
    return m ? Number(m[1]) : undefined;
  };
  return { tests: num(/^# tests\s+(\d+)$/m), pass: num(/^# pass\s+(\d+)$/m), fail: num(/^# fail\s+(\d+)$/m) };
}
