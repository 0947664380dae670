import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(REPO, 'bin/cti.js');
const TMP = join(REPO, 'tests/.tmp');

let project: string;
let cacheDir: string;
let counter = 0;

/** Spawns the real CLI (built by tests/setup/build.ts) in the fixture project. */
function cti(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? project,
    encoding: 'utf8',
    env: { ...process.env, CTI_CACHE_DIR: cacheDir, ...options.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, error: r.error };
}

function write(rel: string, content: string | Buffer) {
  const file = join(project, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

const BINARY = Buffer.from([0, 255, 1, 254, 0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10]);

/** A small project: ESM package, a CommonJS file, non-JS files and a node_modules that must not be mirrored. */
function makeProject() {
  write('package.json', JSON.stringify({ name: 'fixture', type: 'module' }));
  write('src/math.js', [
    'export function sum(values) {',
    '  let total = 0;',
    '  for (const v of values) {',
    '    if (v > 0) total += v;',
    '  }',
    '  return total;',
    '}',
    '',
  ].join('\n'));
  write('src/util/strings.cjs', 'function shout(s) { return s.toUpperCase(); }\nmodule.exports = { shout };\n');
  write('src/util/types.ts', 'export function twice(n: number): number { return n * 2; }\n');
  write('src/data.json', '{"answer": 42}\n');
  write('src/README.md', '# fixture\n');
  write('src/assets/logo.bin', BINARY);
  write('src/.hidden.js', 'export const hidden = () => 1;\n');
  write('src/node_modules/dep/index.js', 'module.exports = 1;\n');
}

/** Every file below `dir` with a hash of its bytes: compares trees and proves inputs untouched. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else files[relative(dir, full).split('\\').join('/')] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  if (existsSync(dir)) walk(dir);
  return files;
}

/** Parses a --json stdout; on failure the message carries what the CLI said on stderr. */
function json(run: ReturnType<typeof cti>) {
  try {
    return JSON.parse(run.stdout) as Summary;
  } catch {
    throw new Error(`not JSON (exit ${run.code}, ${run.error ?? 'no spawn error'}): ${run.stdout}\nstderr: ${run.stderr}`);
  }
}

type Summary = {
  files: number; instrumented: number; copied: number; cacheHits: number; errors: number; durationMs: number; dryRun: boolean;
  results: { file: string; action: string; reason?: string; cache: string | null; stats: Record<string, number> | null; diagnostics: { file: string; line: number; column: number; severity: string; message: string }[] }[];
};

beforeEach(() => {
  counter++;
  project = join(TMP, `cli-${process.pid}-${counter}`);
  rmSync(project, { recursive: true, force: true });
  cacheDir = join(project, '.cti-cache');
  makeProject();
});
afterEach(() => {
  rmSync(project, { recursive: true, force: true });
});

describe('cti instrument: mirroring', () => {
  it('mirrors the tree into --out, copying non-JS files byte for byte and skipping node_modules, without touching the input', () => {
    const before = snapshot(join(project, 'src'));
    const r = cti(['instrument', 'src', '--out', 'build', '--jobs', '1']);
    expect(r.stderr).not.toMatch(/^cti: (?!instrumented)/m);
    expect(r.code, r.stderr).toBe(0);
    expect(snapshot(join(project, 'src'))).toEqual(before);

    const out = join(project, 'build');
    const built = snapshot(out);
    for (const rel of ['math.js', 'util/strings.cjs', 'util/types.ts', 'data.json', 'README.md', 'assets/logo.bin', '.hidden.js']) {
      expect(built, rel).toHaveProperty([rel]);
    }
    expect(Object.keys(built).some((f) => f.includes('node_modules'))).toBe(false);
    for (const rel of ['data.json', 'README.md', 'assets/logo.bin']) expect(built[rel]).toBe(before[rel]);
    // Non-TTY: one summary line on stderr, nothing on stdout.
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^cti: instrumented \d+ of 7 files into build/);
  });

  // [needs the real JS instrumenter] checks instrumented output, maps and the sourceMappingURL comment.
  it('writes instrumented JS with a source map next to it and exactly one sourceMappingURL', () => {
    const r = cti(['instrument', 'src', '--out', 'build', '--jobs', '1']);
    expect(r.code, r.stderr).toBe(0);
    const out = join(project, 'build');
    for (const rel of ['math.js', 'util/strings.cjs', 'util/types.ts']) {
      const code = readFileSync(join(out, rel), 'utf8');
      expect(code, rel).toContain('code-telemetry-injector/runtime');
      expect(code.match(/sourceMappingURL=/g), rel).toHaveLength(1);
      const map = JSON.parse(readFileSync(join(out, `${rel}.map`), 'utf8'));
      expect(map.version).toBe(3);
      expect(map.mappings.length).toBeGreaterThan(0);
      // The map leads from the output back to the input file.
      expect(readFileSync(join(out, dirname(rel), map.sources[0]), 'utf8')).toBe(readFileSync(join(project, 'src', rel), 'utf8'));
    }
    // .js in a "type": "module" package is ESM, the .cjs file CommonJS.
    expect(readFileSync(join(out, 'math.js'), 'utf8')).toMatch(/\bimport\b/);
    expect(readFileSync(join(out, 'util/strings.cjs'), 'utf8')).toMatch(/\brequire\(/);
    expect(existsSync(join(out, 'README.md.map'))).toBe(false);
  });

  it("composes with the input's own source map: a crash in instrumented tsc output points at the .ts line, as before", async () => {
    const ts = (await import('typescript')).default;
    const source = [
      'interface Order { id: number; total: number }',
      '',
      'export function check(o: Order): number {',
      '  if (o.total < 0) {',
      '    throw new RangeError(`order ${o.id}: negative total`);',
      '  }',
      '  return o.total;',
      '}',
      '',
      'console.log(check({ id: 1, total: 5 }));',
      'check({ id: 2, total: -1 });',
      '',
    ].join('\n');
    write('ts/app.ts', source);
    const out = ts.transpileModule(source, { fileName: 'app.ts', compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: true } });
    const inputMap = JSON.parse(out.sourceMapText!);
    write('lib/app.js', out.outputText);
    write('lib/app.js.map', JSON.stringify({ ...inputMap, sources: ['../ts/app.ts'] }));
    // The same compiled file with its map inline instead.
    const inline = `data:application/json;base64,${Buffer.from(JSON.stringify({ ...inputMap, sources: ['../ts/app.ts'] })).toString('base64')}`;
    write('lib/inline.js', out.outputText.replace('//# sourceMappingURL=app.js.map', `//# sourceMappingURL=${inline}`));
    const r = cti(['instrument', 'lib', '--out', 'build/lib', '--runtime', join(REPO, 'dist/runtime/node.js')]);
    expect(r.code).toBe(0);
    const run = (file: string) => {
      const p = spawnSync(process.execPath, ['--enable-source-maps', file], { cwd: project, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
      return { status: p.status, stdout: p.stdout, stderr: p.stderr };
    };
    for (const name of ['app.js', 'inline.js']) {
      const original = run(`lib/${name}`);
      expect(original.stderr).toContain(`${join(project, 'ts/app.ts')}:5`);
      expect(original.stderr).toContain('at check (');
      expect(run(`build/lib/${name}`)).toEqual(original);
      const map = JSON.parse(readFileSync(join(project, `build/lib/${name}.map`), 'utf8'));
      expect(map.sources).toEqual(['../../ts/app.ts']);
      // The last sourceMappingURL names our map (an inline one of the input would be stale).
      expect(readFileSync(join(project, `build/lib/${name}`), 'utf8').trimEnd().split('\n').at(-1)).toBe(`//# sourceMappingURL=${name}.map`);
    }
  });

  it('--jobs 1 and --jobs 2 produce identical output trees', () => {
    for (let i = 0; i < 6; i++) write(`src/gen/file${i}.js`, `export function f${i}(a) { return a > ${i} ? a : ${i}; }\n`);
    expect(cti(['instrument', 'src', '--out', 'one', '--jobs', '1', '--no-cache']).code).toBe(0);
    expect(cti(['instrument', 'src', '--out', 'two', '--jobs', '2', '--no-cache']).code).toBe(0);
    expect(cti(['instrument', 'src', '--out', 'four', '--jobs', '4', '--no-cache', '--json']).code).toBe(0);
    const one = snapshot(join(project, 'one'));
    expect(Object.keys(one).length).toBeGreaterThan(10);
    expect(snapshot(join(project, 'two'))).toEqual(one);
    expect(snapshot(join(project, 'four'))).toEqual(one);
  });

  it('honours cti.config.json include/exclude (relative to the root): excluded files are copied unchanged', () => {
    write('cti.config.json', JSON.stringify({ exclude: ['src/util/**'] }));
    const r = cti(['instrument', 'src', '--out', 'build', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = json(r);
    const strings = summary.results.find((f) => f.file === 'src/util/strings.cjs');
    expect(strings).toMatchObject({ action: 'copied', reason: 'excluded by "src/util/**"', cache: null });
    expect(readFileSync(join(project, 'build/util/strings.cjs'), 'utf8')).toBe(readFileSync(join(project, 'src/util/strings.cjs'), 'utf8'));
  });

  it('a file input lands as out/<name>; several inputs are mirrored side by side', () => {
    const r = cti(['instrument', 'src/math.js', 'src/util', '--out', 'build']);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(snapshot(join(project, 'build'))).filter((f) => !f.endsWith('.map')).sort()).toEqual(['math.js', 'strings.cjs', 'types.ts']);
  });
});

describe('cti instrument: never writes into its input', () => {
  it('refuses --out inside an input, and --out equal to an input', () => {
    const before = snapshot(project);
    for (const out of ['src/build', 'src']) {
      const r = cti(['instrument', 'src', '--out', out]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^cti: --out .* is inside the input src; refusing to write into an input\n$/);
    }
    expect(snapshot(project)).toEqual(before);
  });

  it('refuses an input inside --out', () => {
    const r = cti(['instrument', 'src/util', '--out', 'src']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^cti: the input src\/util is inside --out src/);
  });

  it('accepts an --out inside the root next to the inputs', () => {
    expect(cti(['instrument', 'src', '--out', 'instrumented/build']).code).toBe(0);
  });
});

describe('cti instrument: --dry-run and --diff', () => {
  it('--dry-run writes nothing (no output, no cache entry) and prints a line per file', () => {
    const before = snapshot(project);
    const r = cti(['instrument', 'src', '--out', 'build', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(snapshot(project)).toEqual(before);
    expect(existsSync(join(project, 'build'))).toBe(false);
    expect(existsSync(cacheDir)).toBe(false);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines).toContain('src/README.md: copy: no instrumenter for .md');
    expect(lines).toContain('src/assets/logo.bin: copy: no instrumenter for .bin');
    expect(r.stderr).toMatch(/cti: dry run: would instrument \d+ of 7 files/);
  });

  it('--dry-run reports the counts of what would be instrumented', () => {
    const r = cti(['instrument', 'src', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^src\/math\.js: instrument: 1 function, [1-9]\d* variables?, 1 branch, 1 loop$/m);
  });

  it('--diff prints a unified diff per instrumented file', () => {
    const r = cti(['instrument', 'src', '--dry-run', '--diff']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('--- a/src/math.js\n+++ b/src/math.js\n@@ ');
    expect(r.stdout).toMatch(/^\+.*code-telemetry-injector\/runtime/m);
    expect(r.stdout).toMatch(/^-export function sum\(values\) \{$/m);
    expect(r.stdout).not.toContain('a/src/README.md');
  });

  it('--diff without --dry-run is bad input', () => {
    const r = cti(['instrument', 'src', '--out', 'build', '--diff']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe('cti: --diff only works with --dry-run\n');
  });
});

describe('cti instrument: --json, cache and debug log', () => {
  it('--json prints the summary only, with per-file results and diagnostics', () => {
    const r = cti(['instrument', 'src', '--out', 'build', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = json(r);
    expect(summary).toMatchObject({ files: 7, cacheHits: 0, errors: 0, dryRun: false });
    expect(summary.instrumented + summary.copied).toBe(summary.files);
    expect(typeof summary.durationMs).toBe('number');
    expect(summary.results.map((f) => f.file).sort()).toEqual([
      'src/.hidden.js', 'src/README.md', 'src/assets/logo.bin', 'src/data.json', 'src/math.js', 'src/util/strings.cjs', 'src/util/types.ts',
    ]);
    for (const f of summary.results) {
      expect(['instrumented', 'copied']).toContain(f.action);
      expect(Array.isArray(f.diagnostics)).toBe(true);
    }
    expect(r.stderr).toBe('');
  });

  it('a second run is served from the cache and says so in --json; cache stats/clear see the entries', () => {
    const first = json(cti(['instrument', 'src', '--out', 'build', '--json']));
    expect(first.cacheHits).toBe(0);
    const second = json(cti(['instrument', 'src', '--out', 'build', '--json']));
    // Every JS/TS file is looked up: math.js, strings.cjs, types.ts, .hidden.js.
    expect(second.cacheHits).toBe(4);
    expect(second.results.filter((f) => f.cache === 'hit').map((f) => f.file).sort()).toEqual(['src/.hidden.js', 'src/math.js', 'src/util/strings.cjs', 'src/util/types.ts']);
    expect(second.results.map(({ cache: _, ...f }) => f)).toEqual(first.results.map(({ cache: _, ...f }) => f));

    const stats = cti(['cache', 'stats', '--json']);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ dir: cacheDir, entries: 4 });
    const cleared = cti(['cache', 'clear']);
    expect(cleared.code).toBe(0);
    expect(cleared.stdout).toMatch(/^cleared 4 entries/);
    expect(JSON.parse(cti(['cache', 'stats', '--json']).stdout).entries).toBe(0);
    expect(json(cti(['instrument', 'src', '--out', 'build', '--json'])).cacheHits).toBe(0);
  });

  it('--cache-dir picks the directory and --no-cache disables it', () => {
    const r = cti(['instrument', 'src', '--out', 'build', '--json', '--cache-dir', 'my-cache']);
    expect(json(r).results.find((f) => f.file === 'src/math.js')?.cache).toBe('miss');
    expect(JSON.parse(cti(['cache', 'stats', '--json', '--cache-dir', 'my-cache']).stdout).entries).toBe(4);
    const off = json(cti(['instrument', 'src', '--out', 'build2', '--json', '--no-cache']));
    expect(off.results.find((f) => f.file === 'src/math.js')?.cache).toBe('off');
    expect(existsSync(cacheDir)).toBe(false);
  });

  it('an unwritable cache directory costs one warning, not the build, even with several workers', () => {
    for (let i = 0; i < 6; i++) write(`src/gen/file${i}.js`, `export function f${i}(a) { return a; }\n`);
    const r = cti(['instrument', 'src', '--out', 'build', '--jobs', '3', '--cache-dir', 'package.json/cache']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/^cti: warning: cache directory .*package\.json\/cache is not writable/gm)).toHaveLength(1);
    expect(snapshot(join(project, 'build'))).toHaveProperty(['gen/file5.js']);
  });

  it('--debug-log writes JSON lines with phase, file, cache and timings', () => {
    const r = cti(['instrument', 'src', '--out', 'build', '--debug-log', 'debug.jsonl', '--jobs', '2']);
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(join(project, 'debug.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(7);
    for (const line of lines) expect(typeof line.phase).toBe('string');
    expect(lines.filter((l) => l.phase === 'plan')).toHaveLength(7);
    const instrumented = lines.filter((l) => l.phase === 'instrument');
    expect(instrumented.map((l) => l.file).sort()).toEqual(['src/.hidden.js', 'src/math.js', 'src/util/strings.cjs', 'src/util/types.ts']);
    for (const l of instrumented) {
      expect(l.cache).toBe('miss');
      expect(typeof l.ms).toBe('number');
      expect(['instrumented', 'unchanged']).toContain(l.result);
    }
    const plans = Object.fromEntries(lines.filter((l) => l.phase === 'plan').map((l) => [l.file, l]));
    expect(plans['src/math.js']).toMatchObject({ decision: 'instrument', moduleType: 'esm' });
    expect(plans['src/util/strings.cjs']).toMatchObject({ decision: 'instrument', moduleType: 'cjs' });
    expect(plans['src/README.md']).toMatchObject({ decision: 'copy', reason: 'no instrumenter for .md' });
    expect(lines.at(-1)).toMatchObject({ phase: 'summary', files: 7 });
  });
});

describe('cti instrument: files that do not parse', () => {
  it('pass through unchanged with a file:line:col message; exit 0, or 1 with --strict', () => {
    write('src/broken.js', 'export function ok() { return 1; }\nfunction (\n');
    const r = cti(['instrument', 'src', '--out', 'build']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^src\/broken\.js:2:\d+: .+$/m);
    expect(readFileSync(join(project, 'build/broken.js'), 'utf8')).toBe(readFileSync(join(project, 'src/broken.js'), 'utf8'));
    expect(existsSync(join(project, 'build/broken.js.map'))).toBe(false);
    expect(r.stderr).toMatch(/1 error\b/);

    const strict = cti(['instrument', 'src', '--out', 'build', '--strict', '--json']);
    expect(strict.code, strict.stderr).toBe(1);
    const summary = json(strict);
    expect(summary.errors).toBe(1);
    const broken = summary.results.find((f) => f.file === 'src/broken.js');
    expect(broken?.action).toBe('copied');
    expect(broken?.diagnostics[0]).toMatchObject({ file: 'src/broken.js', line: 2, severity: 'error' });
    // The verdict was cached: the second run did not parse the broken file again.
    expect(broken?.cache).toBe('hit');
  });
});

describe('cti: bad input and help', () => {
  const oneLine = (s: string) => s.split('\n').filter(Boolean);

  it('an unknown option exits 2 with one line', () => {
    const r = cti(['instrument', 'src', '--out', 'build', '--bogus']);
    expect(r.code, r.stderr).toBe(2);
    expect(oneLine(r.stderr)).toEqual(["cti: unknown option '--bogus'"]);
  });

  it('a missing path exits 2 with one line and writes nothing', () => {
    const r = cti(['instrument', 'nope', '--out', 'build']);
    expect(r.code, r.stderr).toBe(2);
    expect(oneLine(r.stderr)).toEqual(['cti: nope: no such file or directory']);
    expect(existsSync(join(project, 'build'))).toBe(false);
  });

  it('a bad cti.config.json exits 2 with one line', () => {
    write('cti.config.json', '{ "include": ');
    const r = cti(['instrument', 'src', '--out', 'build']);
    expect(r.code, r.stderr).toBe(2);
    expect(oneLine(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^cti: .*cti\.config\.json: invalid JSON/);
    write('cti.config.json', '{ "capture": { "loops": "yes" } }');
    expect(cti(['instrument', 'src', '--out', 'build']).stderr).toMatch(/^cti: .*"capture\.loops" must be true or false\n$/);
  });

  it('bad values, a missing --out, an input outside the root and an unknown command exit 2 with one line', () => {
    const cases: [string[], RegExp][] = [
      [['instrument', 'src', '--out', 'build', '--jobs', '0'], /^cti: option '-j, --jobs <n>' argument '0' is invalid/],
      [['instrument', 'src', '--out', 'build', '--module-type', 'amd'], /^cti: option '--module-type <type>' argument 'amd' is invalid/],
      [['instrument', 'src'], /^cti: missing required option '--out <dir>'\n$/],
      [['instrument', 'src', '--out', 'build', '--root', 'src/util'], /^cti: src is outside the root/],
      [['frobnicate'], /^cti: unknown command 'frobnicate'\n$/],
      [['instrument'], /^cti: missing required argument 'paths'\n$/],
    ];
    for (const [args, message] of cases) {
      const r = cti(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(oneLine(r.stderr), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('--help lists the commands; per-command help describes the options; both exit 0', () => {
    const top = cti(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Usage: cti/);
    expect(top.stdout).toMatch(/instrument \[options\] <paths\.\.\.>/);
    expect(top.stdout).toMatch(/\bcache\b/);
    const sub = cti(['instrument', '--help']);
    expect(sub.code).toBe(0);
    for (const flag of ['--out', '--root', '--dry-run', '--diff', '--jobs', '--cache-dir', '--no-cache', '--json', '--no-validate', '--debug-log', '--strict', '--runtime', '--module-type']) {
      expect(sub.stdout).toContain(flag);
    }
    expect(cti(['cache', 'stats', '--help']).code).toBe(0);
    expect(cti(['--version']).stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
  });

  it('cti with no command prints the help on stderr and exits 2', () => {
    const r = cti([]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/Usage: cti/);
  });
});

describe('cti instrument: --runtime', () => {
  it('the instrumented code imports the given runtime specifier', () => {
    const r = cti(['instrument', 'src/math.js', '--out', 'build', '--runtime', './my-runtime.js']);
    expect(r.code, r.stderr).toBe(0);
    const code = readFileSync(join(project, 'build/math.js'), 'utf8');
    expect(code).toContain('./my-runtime.js');
    expect(code).not.toContain('code-telemetry-injector/runtime');
    expect(statSync(join(project, 'build/math.js.map')).size).toBeGreaterThan(0);
  });
});
