/**
 * cti on real third-party code: real npm packages' OWN test suites run against instrumented copies
 * of their source. For each package (tests/third-party/packages.ts):
 *
 *  1. `npm pack <name>@<version>` and `tar` give the published package with its test/ directory;
 *     `npm install` adds exactly what its test files require, at pinned versions.
 *  2. `original/` is the package as published; `instrumented/` is a copy whose own source (qs: lib/,
 *     minimist: index.js, ...) is replaced by the output of the real CLI, `cti instrument`. The test
 *     files stay as they are, so the suite drives the instrumented library through its public API.
 *  3. The package's own test command (its package.json script without the coverage wrapper) runs in
 *     both: same exit code (0), the same TAP output line for line, the same `# pass` count.
 *  4. The spans the instrumented run wrote are checked against the ORIGINAL source: names, files,
 *     lines, parents, errors, branch/loop/variable events.
 *  5. Wall time of both runs is printed (instrumented < 20x original).
 *
 * And once more for qs with its test harness (tape) instrumented too: tape's `t.throws` then catches
 * qs's RangeErrors and TypeErrors in instrumented code, so cti learns what was thrown and the spans
 * carry `exception` events with the real messages (docs/telemetry.md: only an instrumented catch can
 * tell; when uninstrumented code catches, the status says the value was not observed).
 *
 * Needs the npm registry (and only it). When `npm view` cannot reach it, the whole file is skipped
 * with the reason in its title and on stderr. Temp files: tests/.tmp/third-party-<pid>/, removed at
 * the end unless CTI_KEEP_TMP is set.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fileOf,
  findLine,
  firstDifference,
  installTestDependencies,
  jsFiles,
  lineOf,
  locationProblems,
  normalizeOutput,
  parentProblems,
  readSpans,
  registryReachable,
  requiredPackages,
  run,
  runOk,
  tapCounts,
  testCommand,
  type RunResult,
  type SpanRecord,
} from './third-party/harness.js';
import { PACKAGES, type PackageSpec } from './third-party/packages.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(REPO, 'bin/cti.js');
const RUNTIME = join(REPO, 'dist/runtime/node.js');
const TMP = join(REPO, `tests/.tmp/third-party-${process.pid}`);
const UNOBSERVED = 'exception (thrown value not observed by instrumented code)';
/** docs/telemetry.md: events per span by default. */
const EVENT_LIMIT = 128;
/** The limit for the qs + tape run (OTEL_SPAN_EVENT_COUNT_LIMIT): keeps its traces file small, and tests the override. */
const TAPE_RUN_EVENT_LIMIT = 16;
const SUITE_TIMEOUT = 120_000;

/** The environment of every run, without anything that would turn telemetry on or change it. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(CTI_|OTEL_)/.test(k) || k === 'RECEIVER_URL') delete env[k];
  return env;
}

interface CliSummary {
  files: number;
  instrumented: number;
  copied: number;
  errors: number;
  durationMs: number;
  results: { file: string; output: string; action: string; reason?: string }[];
}

/** `cti instrument` through the real CLI, strict (a file that cannot be instrumented fails the test). */
async function ctiInstrument(inputs: string[], out: string, root: string): Promise<CliSummary> {
  const r = await runOk(
    process.execPath,
    [BIN, 'instrument', ...inputs, '--out', out, '--root', root, '--runtime', RUNTIME, '--no-cache', '--strict', '--json'],
    { cwd: root, env: cleanEnv(), timeoutMs: 120_000 },
  );
  const summary = JSON.parse(r.stdout) as CliSummary;
  if (summary.errors !== 0) throw new Error(`cti instrument ${inputs.join(' ')}: ${summary.errors} errors\n${r.stdout}\n${r.stderr}`);
  return summary;
}

interface Prepared {
  spec: PackageSpec;
  dir: string;
  original: string;
  instrumented: string;
  /** node arguments of the package's test command. */
  command: string[];
  /** The instrumented files, relative to the package root. */
  sourceFiles: string[];
  cli: CliSummary[];
  installMs: number;
}

/** Steps 1 and 2: fetch, extract, install, copy, instrument. */
async function prepare(spec: PackageSpec): Promise<Prepared> {
  const dir = join(TMP, spec.name);
  const original = join(dir, 'original');
  const instrumented = join(dir, 'instrumented');
  mkdirSync(dir, { recursive: true });
  const env = cleanEnv();

  const packed = await runOk('npm', ['pack', `${spec.name}@${spec.version}`, '--json', '--pack-destination', dir, '--loglevel=error'], {
    cwd: dir,
    env,
    timeoutMs: 120_000,
  });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  if (!info.files.some((f) => f.path.startsWith('test/'))) throw new Error(`${spec.name}@${spec.version} ships no test/ directory`);
  await runOk('tar', ['xzf', join(dir, info.filename), '-C', dir], { cwd: dir });
  renameSync(join(dir, 'package'), original);

  // Install exactly what the test files require, no more, no less.
  const required = requiredPackages(join(original, 'test'));
  const pinned = Object.keys(spec.testDependencies).sort();
  if (required.join() !== pinned.join()) {
    throw new Error(`${spec.name}: the test files require [${required.join(', ')}], the spec pins [${pinned.join(', ')}]`);
  }
  const installed = await installTestDependencies(original, spec, env);
  const command = testCommand(original, spec);

  cpSync(original, instrumented, { recursive: true, verbatimSymlinks: true });
  const sourceFiles: string[] = [];
  const cli: CliSummary[] = [];
  for (const source of spec.sources) {
    const from = join(original, source);
    const isDir = statSync(from).isDirectory();
    sourceFiles.push(...(isDir ? jsFiles(from).map((f) => `${source}/${f}`) : [source]));
    rmSync(join(instrumented, source), { recursive: true, force: true });
    cli.push(await ctiInstrument([from], isDir ? join(instrumented, source) : dirname(join(instrumented, source)), original));
  }
  return { spec, dir, original, instrumented, command, sourceFiles, cli, installMs: installed.ms };
}

interface SuiteRuns {
  original: SuiteRun;
  instrumented: SuiteRun;
  spans: SpanRecord[];
  traces: string;
}

interface SuiteRun extends RunResult {
  /** CPU time (user + system) the suite's process used, from tests/third-party/cpu-usage.cjs. */
  cpuMs: number;
}

const CPU_PRELOAD = fileURLToPath(new URL('./third-party/cpu-usage.cjs', import.meta.url));
let cpuFiles = 0;

/** Step 3: the package's own test command, as the package runs it, in one copy. */
async function suite(p: Prepared, cwd: string, env: NodeJS.ProcessEnv = {}): Promise<SuiteRun> {
  const cpuFile = join(p.dir, `cpu-${cpuFiles++}.json`);
  const r = await run(process.execPath, ['-r', CPU_PRELOAD, ...p.command], {
    cwd,
    env: { ...cleanEnv(), ...env, THIRD_PARTY_CPU_FILE: cpuFile },
    timeoutMs: SUITE_TIMEOUT,
  });
  const cpu = existsSync(cpuFile) ? (JSON.parse(readFileSync(cpuFile, 'utf8')) as { userUs: number; systemUs: number }) : null;
  return { ...r, cpuMs: cpu ? (cpu.userUs + cpu.systemUs) / 1000 : NaN };
}

/** The suite in an instrumented copy with CTI_TRACES_FILE set, and the spans it wrote. */
async function tracedSuite(p: Prepared, cwd: string, tracesName: string, env: NodeJS.ProcessEnv = {}): Promise<{ run: SuiteRun; spans: SpanRecord[]; traces: string }> {
  const traces = join(p.dir, tracesName);
  rmSync(traces, { force: true });
  const r = await suite(p, cwd, { CTI_TRACES_FILE: traces, OTEL_SERVICE_NAME: `third-party-${p.spec.name}`, ...env });
  return { run: r, spans: existsSync(traces) ? readSpans(traces) : [], traces };
}

/** `  1234 ms wall,  1100 ms CPU` */
const times = (r: SuiteRun) => `${r.ms.toFixed(0).padStart(5)} ms wall ${r.cpuMs.toFixed(0).padStart(5)} ms CPU`;
const ratios = (r: SuiteRun, base: SuiteRun) => `${(r.ms / base.ms).toFixed(1)}x wall ${(r.cpuMs / base.cpuMs).toFixed(1)}x CPU`;

function expectSameOutput(original: RunResult, originalDir: string, instrumented: RunResult, instrumentedDir: string) {
  expect(original.code, `the original suite failed:\n${original.stdout.slice(-3000)}\n${original.stderr.slice(-3000)}`).toBe(0);
  expect(instrumented.code, `the instrumented suite exited ${instrumented.code ?? instrumented.signal}:\n${instrumented.stderr.slice(-3000)}`).toBe(original.code);
  expect(firstDifference(normalizeOutput(original.stdout, originalDir), normalizeOutput(instrumented.stdout, instrumentedDir)), 'TAP output (stdout)').toBeNull();
  expect(firstDifference(normalizeOutput(original.stderr, originalDir), normalizeOutput(instrumented.stderr, instrumentedDir)), 'stderr').toBeNull();
  const a = tapCounts(original.stdout);
  const b = tapCounts(instrumented.stdout);
  expect(b).toEqual(a);
  expect(a.fail).toBeUndefined();
}

/** Reads the original source of the instrumented files (lines), for location checks. */
function sourceReader(roots: Record<string, string>, known: Set<string>) {
  const cache = new Map<string, string[]>();
  return (path: string): string[] | undefined => {
    if (!known.has(path)) return undefined;
    let lines = cache.get(path);
    if (!lines) {
      const prefix = Object.keys(roots).find((r) => path.startsWith(r)) ?? '';
      lines = readFileSync(join(roots[prefix], path.slice(prefix.length)), 'utf8').split('\n');
      cache.set(path, lines);
    }
    return lines;
  };
}

const countBy = <T>(items: T[], key: (t: T) => string) => {
  const m = new Map<string, number>();
  for (const t of items) m.set(key(t), (m.get(key(t)) ?? 0) + 1);
  return m;
};
const spanKey = (s: SpanRecord) => `${fileOf(s)}:${lineOf(s)} ${s.name} ${s.status.code}`;
const hasEvent = (s: SpanRecord, name: string) => s.events.some((e) => e.name === name);

/** docs/telemetry.md: previews are one line of at most 120 characters by default. */
const PREVIEW_LENGTH = 120;

/** Value previews (arguments, return values, variables) that are not one line of at most PREVIEW_LENGTH characters. */
function previewProblems(spans: SpanRecord[]): string[] {
  const found: string[] = [];
  const check = (where: string, v: unknown) => {
    if (typeof v === 'string' && (v.includes('\n') || [...v].length > PREVIEW_LENGTH)) found.push(`${where}=${JSON.stringify(v).slice(0, 300)}`);
  };
  for (const s of spans) {
    for (const [k, v] of Object.entries(s.attributes)) if (k.startsWith('cti.arg.') || k === 'cti.return') check(`${s.name} ${k}`, v);
    for (const e of s.events) if (e.name === 'cti.var') check(`${s.name} ${e.attributes['cti.var.name']}`, e.attributes['cti.var.value']);
  }
  return found;
}

const report: string[] = [];
const registry = registryReachable(PACKAGES[0].name, PACKAGES[0].version);
const SKIP_REASON = registry.ok ? '' : `SKIPPED: the npm registry is unreachable (${registry.reason})`;
if (!registry.ok) console.warn(`\n*** tests/third-party.test.ts ${SKIP_REASON}\n`);

describe.skipIf(!registry.ok)(`third-party packages' own test suites on instrumented code${registry.ok ? '' : ` — ${SKIP_REASON}`}`, () => {
  const prepared = new Map<string, Prepared>();
  const runs = new Map<string, SuiteRuns>();

  beforeAll(async () => {
    rmSync(TMP, { recursive: true, force: true });
    mkdirSync(TMP, { recursive: true });
    // The packages download and install side by side (mostly waiting on the network).
    const all = await Promise.all(PACKAGES.map((spec) => prepare(spec)));
    for (const p of all) prepared.set(p.spec.name, p);
  }, 180_000);

  afterAll(() => {
    if (report.length > 0) console.log(`\nthird-party test suites, original vs instrumented:\n${report.map((l) => `  ${l}`).join('\n')}\n`);
    if (process.env.CTI_KEEP_TMP) console.log(`kept ${TMP}`);
    else rmSync(TMP, { recursive: true, force: true });
  });

  for (const spec of PACKAGES) {
    const id = `${spec.name}@${spec.version}`;
    const get = () => {
      const r = runs.get(spec.name);
      if (!r) throw new Error(`${id}: the suites did not run (see the first test of this group)`);
      return r;
    };

    describe(id, () => {
      it('was instrumented by the CLI: its own source replaced, its tests untouched', () => {
        const p = prepared.get(spec.name)!;
        expect(p.sourceFiles.length).toBeGreaterThan(0);
        const results = p.cli.flatMap((c) => c.results);
        expect(results.filter((r) => r.action === 'instrumented').length).toBeGreaterThan(0);
        for (const file of p.sourceFiles) {
          const out = readFileSync(join(p.instrumented, file), 'utf8');
          const src = readFileSync(join(p.original, file), 'utf8');
          const action = results.find((r) => r.output === join(p.instrumented, file))?.action;
          if (action === 'instrumented') expect(out, file).toContain('/*cti:instrumented*/');
          else expect(out, `${file} (${action})`).toBe(src);
        }
        for (const file of jsFiles(join(p.original, 'test'))) {
          expect(readFileSync(join(p.instrumented, 'test', file), 'utf8'), `test/${file}`).toBe(readFileSync(join(p.original, 'test', file), 'utf8'));
        }
      });

      it('passes its own test suite identically: exit code, TAP output, pass count', async () => {
        const p = prepared.get(spec.name)!;
        const original = await suite(p, p.original);
        const traced = await tracedSuite(p, p.instrumented, 'traces.jsonl');
        runs.set(spec.name, { original, instrumented: traced.run, spans: traced.spans, traces: traced.traces });
        expectSameOutput(original, p.original, traced.run, p.instrumented);
        // The instrumented copy with no exporter configured: the runtime is off (one check per call).
        const off = await suite(p, p.instrumented);
        expectSameOutput(original, p.original, off, p.instrumented);
        const { pass } = tapCounts(original.stdout);
        expect(pass).toBeGreaterThanOrEqual(spec.minPass);
        expect(pass).toBeGreaterThan(100);

        const instrumentMs = p.cli.reduce((t, c) => t + c.durationMs, 0);
        report.push(
          `${id} (# pass ${pass}, ${traced.spans.length} spans; install ${(p.installMs / 1000).toFixed(1)} s, cti instrument ${instrumentMs.toFixed(0)} ms)`,
          `    original               ${times(original)}`,
          `    instrumented, tracing  ${times(traced.run)}  = ${ratios(traced.run, original)}`,
          `    instrumented, off      ${times(off)}  = ${ratios(off, original)}`,
        );
        // Not a benchmark: only a bound against pathological slowdowns. Wall time on a shared 2-core
        // machine is noisy (the original run is short), so either measure may satisfy it.
        expect(Math.min(traced.run.ms / original.ms, traced.run.cpuMs / original.cpuMs)).toBeLessThan(20);
      }, SUITE_TIMEOUT * 3);

      it("exports spans of the library's real functions, located in the original source", () => {
        const p = prepared.get(spec.name)!;
        const { spans } = get();
        expect(spans.length).toBeGreaterThanOrEqual(spec.minSpans);
        const source = sourceReader({ '': p.original }, new Set(p.sourceFiles));
        expect(locationProblems(spans, source).report()).toEqual([]);
        for (const s of spans) {
          expect(s.attributes['cti.lang']).toBe('javascript');
          expect(s.resource['service.name']).toBe(`third-party-${spec.name}`);
        }
        const seen = new Set(spans.map((s) => `${fileOf(s)}:${lineOf(s)} ${s.name}`));
        const missing = spec.expectedFunctions
          .map((f) => `${f.file}:${findLine(source(f.file)!, f.line, `${f.file} ${f.name}`)} ${f.name}`)
          .filter((key) => !seen.has(key));
        expect(missing, 'expected functions without a span (file:line name)').toEqual([]);
      });

      it('links every span to its caller; only the API the tests call starts a trace', () => {
        const p = prepared.get(spec.name)!;
        const { spans } = get();
        expect(parentProblems(spans).report()).toEqual([]);
        const source = sourceReader({ '': p.original }, new Set(p.sourceFiles));
        const entries = new Set(spec.entryPoints.map((e) => `${e.file}:${findLine(source(e.file)!, e.line, e.file)}`));
        const badRoots = countBy(
          spans.filter((s) => s.parent_span_id === null && !entries.has(`${fileOf(s)}:${lineOf(s)}`) && !(spec.rootFiles ?? []).includes(fileOf(s))),
          (s) => `${fileOf(s)}:${lineOf(s)} ${s.name}`,
        );
        expect(Object.fromEntries(badRoots), 'spans without a parent that are not entry points').toEqual({});
        const roots = spans.filter((s) => s.parent_span_id === null);
        expect(roots.length).toBeGreaterThan(0);
        expect(roots.length).toBeLessThan(spans.length / 2);
      });

      it('marks calls that threw as ERROR', () => {
        const { spans } = get();
        const errors = spans.filter((s) => s.status.code === 'ERROR');
        if (!spec.throws) {
          expect(errors.map(spanKey)).toEqual([]);
          return;
        }
        expect(errors.length).toBeGreaterThan(0);
        // tape, which catches them, is not instrumented: cti cannot know what was thrown (docs/telemetry.md).
        expect(new Set(errors.map((s) => s.status.message))).toEqual(new Set([UNOBSERVED]));
        expect(spans.filter((s) => hasEvent(s, 'exception')).map(spanKey)).toEqual([]);
        // Nothing in these libraries catches what they throw: the error goes up through every caller.
        const byId = new Map(spans.map((s) => [s.span_id, s]));
        const okCallers = errors.filter((s) => s.parent_span_id !== null && byId.get(s.parent_span_id)?.status.code !== 'ERROR');
        expect(okCallers.map(spanKey)).toEqual([]);
        for (const s of spans) if (s.status.code === 'OK') expect(s.status.message).toBeUndefined();
      });

      it('records branches, loops and variables as span events', () => {
        const { spans } = get();
        const counts = countBy(
          spans.flatMap((s) => s.events),
          (e) => e.name,
        );
        expect(counts.get('cti.branch') ?? 0).toBeGreaterThan(0);
        expect(counts.get('cti.loop') ?? 0).toBeGreaterThan(0);
        expect(counts.get('cti.var') ?? 0).toBeGreaterThan(0);
        for (const s of spans) {
          expect(s.events.length).toBeLessThanOrEqual(EVENT_LIMIT);
          if (s.dropped_events_count > 0) expect(s.events.length, `${s.name} dropped ${s.dropped_events_count} events`).toBe(EVENT_LIMIT);
        }
        // Previews are one bounded line, also for what real code passes around: regex match arrays
        // (shell-quote), long arrays, option objects (qs).
        expect(previewProblems(spans).slice(0, 5)).toEqual([]);
      });
    });
  }

  describe('qs specifics', () => {
    const QS = PACKAGES.find((p) => p.name === 'qs')!;
    /** What the qs + tape run compares with: per span key, counts from the qs-only run. */
    let qsOnly: Map<string, number> | null = null;
    /** Previews of an object or array holding an Error, from the qs + tape run. */
    let nestedErrorPreviews: string[] | null = null;
    /** Spans of tape's process.on('exit') listener in the qs + tape run. */
    let exitListenerSpans: number | null = null;
    /** An Error's stack inside a preview: `{ error: TypeError: … \n    at normalizeParseOptions (…` */
    const NESTED_ERROR = /Error\b[^\n]*\\n {4,}at /;

    it('the suite reaches the documented errors: a bad decoder is an ERROR in normalizeParseOptions and parse', () => {
      const r = runs.get('qs');
      if (!r) throw new Error('the qs suite did not run (see above)');
      const spans = r.spans;
      qsOnly = countBy(spans, spanKey);
      const p = prepared.get('qs')!;
      const parseLines = readFileSync(join(p.original, 'lib/parse.js'), 'utf8').split('\n');
      const entry = findLine(parseLines, QS.entryPoints[0].line, 'parse entry');
      const byId = new Map(spans.map((s) => [s.span_id, s]));
      // test/parse.js: st.throws(function () { qs.parse({}, { decoder: 'string' }); }, new TypeError('Decoder has to be a function.'))
      const bad = spans.filter((s) => s.name === 'normalizeParseOptions' && s.attributes['cti.arg.opts'] === "{ decoder: 'string' }");
      expect(bad.length).toBe(1);
      expect(bad[0].status).toEqual({ code: 'ERROR', message: UNOBSERVED });
      expect(bad[0].attributes['cti.return']).toBeUndefined();
      const caller = byId.get(bad[0].parent_span_id!)!;
      expect(`${fileOf(caller)}:${lineOf(caller)} ${caller.name} ${caller.status.code}`).toBe(`lib/parse.js:${entry} module.exports ERROR`);
      expect(caller.attributes['cti.arg.str']).toBe('{}');
      expect(caller.attributes['cti.arg.opts']).toBe("{ decoder: 'string' }");
      // A call that returned has its return value.
      const ok = spans.find((s) => s.name === 'normalizeParseOptions' && s.status.code === 'OK');
      expect(ok?.attributes['cti.return']).toMatch(/^\{ allowDots: /);
    });

    it("the one catch in qs (utils.decode) records what decodeURIComponent threw, and the hex table's loop counts 256", () => {
      const spans = runs.get('qs')!.spans;
      const p = prepared.get('qs')!;
      const utils = readFileSync(join(p.original, 'lib/utils.js'), 'utf8').split('\n');
      const catchLine = findLine(utils, /^ {4}\} catch \(e\) \{$/, 'decode catch');
      const caught = spans.flatMap((s) => (s.name === 'decode' ? s.events : [])).filter((e) => e.name === 'cti.var' && e.attributes['cti.var.name'] === 'e');
      expect(caught.length).toBeGreaterThan(0);
      for (const e of caught) {
        expect(e.attributes['code.line.number']).toBe(catchLine);
        expect(e.attributes['cti.var.value']).toBe('URIError: URI malformed');
      }
      const loopLine = findLine(utils, /for \(var i = 0; i < 256; \+\+i\)/, 'hex table loop');
      const loop = spans.flatMap((s) => (fileOf(s) === 'lib/utils.js' ? s.events : [])).find((e) => e.name === 'cti.loop' && e.attributes['code.line.number'] === loopLine);
      expect(loop?.attributes).toEqual({ 'cti.loop.kind': 'for', 'code.line.number': loopLine, 'cti.loop.iterations': 256 });
      runs.get('qs')!.spans = [];
    });

    it('with tape instrumented too, qs errors carry exception events with the real messages', async () => {
      const p = prepared.get('qs')!;
      const originalRun = runs.get('qs')?.original;
      if (!originalRun || !qsOnly) throw new Error('the qs suite did not run (see above)');

      // A third copy: instrumented qs, and tape's own code (index.js, lib/) instrumented as well.
      const withTape = join(p.dir, 'instrumented-tape');
      cpSync(p.instrumented, withTape, { recursive: true, verbatimSymlinks: true });
      const tapeSrc = join(p.original, 'node_modules/tape');
      const tapeOut = join(withTape, 'node_modules/tape');
      const modules = join(p.original, 'node_modules');
      rmSync(join(tapeOut, 'lib'), { recursive: true });
      rmSync(join(tapeOut, 'index.js'));
      // Rooted at node_modules, tape's spans say `tape/lib/test.js` (and cti's default exclusion of
      // node_modules/ does not apply below the root).
      await ctiInstrument([join(tapeSrc, 'lib')], join(tapeOut, 'lib'), modules);
      await ctiInstrument([join(tapeSrc, 'index.js')], tapeOut, modules);
      const tapeFiles = ['index.js', ...jsFiles(join(tapeSrc, 'lib')).map((f) => `lib/${f}`)].map((f) => `tape/${f}`);

      const traced = await tracedSuite(p, withTape, 'traces-tape.jsonl', { OTEL_SPAN_EVENT_COUNT_LIMIT: String(TAPE_RUN_EVENT_LIMIT) });
      const { spans } = traced;
      expectSameOutput(originalRun, p.original, traced.run, withTape);
      report.push(
        `qs@${QS.version} with tape@${QS.testDependencies.tape} instrumented too (${spans.length} spans of qs and tape, events capped at ${TAPE_RUN_EVENT_LIMIT})`,
        `    instrumented, tracing  ${times(traced.run)}  = ${ratios(traced.run, originalRun)}`,
      );
      // Not the 20x bound of the library-only runs: here every assertion of the harness is traced too.
      expect(Math.min(traced.run.ms / originalRun.ms, traced.run.cpuMs / originalRun.cpuMs)).toBeLessThan(60);

      const source = sourceReader({ 'tape/': tapeSrc, '': p.original }, new Set([...p.sourceFiles, ...tapeFiles]));
      expect(locationProblems(spans, source).report()).toEqual([]);
      // tape's process.on('exit') listener calls process.exit() from inside 'exit': Node then ends the
      // process at once, so that listener's call never ends and is never exported. What it called is
      // (the runtime hands spans over one by one once its own exit hook ran): those are the only
      // spans whose parent is missing, and they all miss the same one.
      const orphans = parentProblems(spans).report();
      expect(orphans.length).toBeGreaterThan(0);
      expect(new Set(orphans.map((o) => o.replace(/^.*: parent ([0-9a-f]{16}) is not in the file$/, '$1'))).size).toBe(1);
      expect(new Set(orphans.map((o) => o.replace(/: parent .*$/, '')))).toEqual(new Set(['tape/lib/test.js _exit', 'tape/index.js createHarness.test.close']));
      expect(spans.filter((s) => fileOf(s).startsWith('tape/')).length).toBeGreaterThan(1000);
      const exitLine = findLine(source('tape/index.js')!, /^\tprocess\.on\('exit', .*function \(code\) \{$/, "tape's exit listener");
      exitListenerSpans = spans.filter((s) => fileOf(s) === 'tape/index.js' && lineOf(s) === exitLine).length;

      // qs did exactly what it did when only qs was instrumented: the same calls, the same errors.
      const qsSpans = spans.filter((s) => !fileOf(s).startsWith('tape/'));
      expect(countBy(qsSpans, spanKey)).toEqual(qsOnly);

      // tape keeps what t.throws caught in `{ error: err }`: previews of objects holding an Error.
      const previews = previewProblems(spans);
      nestedErrorPreviews = previews.filter((v) => NESTED_ERROR.test(v));
      const holdingErrors = spans.flatMap((s) => [...Object.values(s.attributes), ...s.events.map((e) => e.attributes['cti.var.value'])])
        .filter((v) => typeof v === 'string' && /\berror: \w*Error\b/.test(v));
      expect(holdingErrors.length).toBeGreaterThan(0);
      expect(previews.filter((v) => !NESTED_ERROR.test(v)).slice(0, 5)).toEqual([]);
      for (const s of spans) {
        expect(s.events.length).toBeLessThanOrEqual(TAPE_RUN_EVENT_LIMIT);
        if (s.dropped_events_count > 0) expect(s.events.length).toBe(TAPE_RUN_EVENT_LIMIT);
      }

      // Every exception event agrees with the status, and where qs threw the error itself (its message
      // begins as in a `throw new <Type>(` of that file), the stack's first frame is that `throw` in the
      // ORIGINAL source: stack traces keep original line numbers.
      const observed = qsSpans.filter((s) => hasEvent(s, 'exception'));
      expect(observed.length).toBeGreaterThan(100);
      const byId = new Map(spans.map((s) => [s.span_id, s]));
      let framesChecked = 0;
      for (const s of observed) {
        const ev = s.events.find((e) => e.name === 'exception')!;
        expect(s.events.at(-1), `${s.name}: the exception event comes last`).toBe(ev);
        const type = String(ev.attributes['exception.type']);
        const message = String(ev.attributes['exception.message']);
        const stack = String(ev.attributes['exception.stacktrace']);
        expect(s.status).toEqual({ code: 'ERROR', message: `${type}: ${message}` });
        expect(stack.startsWith(`${type}: ${message}\n    at `), stack.slice(0, 300)).toBe(true);
        const frame = /\n {4}at (?:[^\n]* \()?(\/[^\n]*?):(\d+):\d+\)?\n/.exec(stack);
        const head = message.split(/[0-9'"`]/)[0];
        if (frame && frame[1].startsWith(join(withTape, 'lib') + '/') && head.length >= 10) {
          const file = frame[1].slice(withTape.length + 1);
          const lines = source(file)!;
          if (lines.some((l) => l.includes(`throw new ${type}(`) && l.includes(head))) {
            const line = lines[Number(frame[2]) - 1] ?? '';
            expect(line.includes(`throw new ${type}(`) && line.includes(head), `${s.name}: first frame ${file}:${frame[2]} for "${type}: ${message}" is: ${line.trim()}`).toBe(true);
            framesChecked++;
          }
        }
        // The catch that told cti was tape's (instrumented): there is a tape span above this one.
        let a = s.parent_span_id === null ? undefined : byId.get(s.parent_span_id);
        while (a && !fileOf(a).startsWith('tape/')) a = a.parent_span_id === null ? undefined : byId.get(a.parent_span_id);
        expect(a, `${s.name}: no tape span above it`).toBeDefined();
      }
      expect(framesChecked).toBeGreaterThan(50);

      const testJs = source('tape/lib/test.js')!;
      const throwsLine = findLine(testJs, /^Test\.prototype\['throws'\] = function \(fn, expected, msg, extra\) \{$/, "tape's t.throws");
      const expectations: [string, string, string, string][] = [
        ['lib/parse.js', 'normalizeParseOptions', 'TypeError', 'Decoder has to be a function.'],
        ['lib/parse.js', 'normalizeParseOptions', 'TypeError', 'The charset option must be either utf-8, iso-8859-1, or undefined'],
        ['lib/parse.js', 'parseQueryStringValues', 'RangeError', 'Parameter limit exceeded. Only 3 parameters allowed.'],
        ['lib/parse.js', 'splitKeyIntoSegments', 'RangeError', 'Input depth exceeded depth option of 1 and strictDepth is true'],
        ['lib/utils.js', 'combine', 'RangeError', 'Array limit exceeded. Only 0 elements allowed in an array.'],
        ['lib/stringify.js', 'normalizeStringifyOptions', 'TypeError', 'Encoder has to be a function.'],
        ['lib/stringify.js', 'stringify', 'RangeError', 'Cyclic object value'],
      ];
      for (const [file, name, type, message] of expectations) {
        const s = observed.find((x) => fileOf(x) === file && x.name === name && x.status.message === `${type}: ${message}`);
        expect(s, `${file} ${name}: ${type}: ${message}`).toBeDefined();
        const ev = s!.events.find((e) => e.name === 'exception')!;
        expect(ev.attributes['exception.type']).toBe(type);
        expect(ev.attributes['exception.message']).toBe(message);
      }
      // The decoder case, all the way up: normalizeParseOptions ← parse (qs's entry) ← the test's
      // function (not instrumented) ← tape's t.throws, whose catch received the TypeError.
      const decoder = observed.find((s) => s.name === 'normalizeParseOptions' && s.attributes['cti.arg.opts'] === "{ decoder: 'string' }")!;
      const entry = byId.get(decoder.parent_span_id!)!;
      expect(entry.status).toEqual({ code: 'ERROR', message: 'TypeError: Decoder has to be a function.' });
      const thrower = byId.get(entry.parent_span_id!)!;
      expect(`${fileOf(thrower)}:${lineOf(thrower)} ${thrower.status.code}`).toBe(`tape/lib/test.js:${throwsLine} OK`);
    }, SUITE_TIMEOUT * 2);

    // Was a cti bug (fixed in src/runtime/preview.ts): an Error inside an object or array was previewed
    // with its stack, on several lines (`{ error: TypeError: bad\n       at Object.<anonymous> (…`),
    // where docs/telemetry.md promises one line and errors as `TypeError: message`.
    it('an Error nested in an object is previewed on one line, as `TypeError: message`', () => {
      expect(nestedErrorPreviews, 'the qs + tape run did not get this far').not.toBeNull();
      expect(nestedErrorPreviews!.slice(0, 3)).toEqual([]);
    });

    // Calls made in a process.on('exit') listener that the program registered after loading an
    // instrumented module are exported too (the runtime hands spans over one by one once its own
    // exit hook ran). tape ends every run that way: its exit listener closes the harness.
    it("tape's process.on('exit') listener's calls are exported", () => {
      expect(exitListenerSpans, 'the qs + tape run did not get this far').not.toBeNull();
      // The listener itself never ends (see above): its callees are there instead.
      expect(exitListenerSpans).toBe(0);
    });
  });
});
