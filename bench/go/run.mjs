// Go benchmark (a script, not a test): build cost of `go build -toolexec cti-go` on a real
// module, and CPU cost per instrumented call. Prints a table and writes bench/go/results.json.
//   npm run build && node bench/go/run.mjs     (REPS=3 COLD_REPS=1 by default)
//   CALLS_ONLY=1 REPS=5 node bench/go/run.mjs   (only the CPU cost per call: a minute; writes
//                                               bench/go/calls.json, results.json is left alone)
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const WORK = join(REPO, 'bench/.work/go');
const CTI_GO = join(REPO, 'bin/cti-go');
const MODULE = 'github.com/google/go-cmp@v0.7.0';
const REPS = Number(process.env.REPS ?? 3);
const COLD_REPS = Number(process.env.COLD_REPS ?? 1); // each compiles the standard library twice: minutes
const CALLS_ONLY = process.env.CALLS_ONLY === '1';

/** Runs a command under /usr/bin/time: wall and CPU (user + system, children included) seconds. */
function timed(cmd, args, opts) {
  const r = spawnSync('/usr/bin/time', ['-f', 'CTI_TIME %e %U %S', cmd, ...args], { ...opts, encoding: 'utf8', maxBuffer: 64 << 20 });
  const m = /CTI_TIME (\S+) (\S+) (\S+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]) };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const chmodTree = (dir) => {
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) e.isDirectory() ? chmodTree(join(dir, e.name)) : chmodSync(join(dir, e.name), 0o644);
};

rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
execFileSync(CTI_GO, ['--version'], { stdio: 'ignore' }); // builds the shim once, outside the timings
const results = { module: MODULE, go: execFileSync('go', ['version'], { encoding: 'utf8' }).trim(), reps: REPS, coldReps: COLD_REPS, load: (await import('node:os')).loadavg() };
const cold = { plain: [], instrumented: [] };
const warm = { plain: [], instrumented: [] };
const edit = { plain: [], instrumented: [] };
if (!CALLS_ONLY) {
  const { Dir } = JSON.parse(execFileSync('go', ['mod', 'download', '-json', MODULE], { cwd: WORK, encoding: 'utf8' }));
  const copy = (name) => {
    const dir = join(WORK, name);
    cpSync(Dir, dir, { recursive: true });
    chmodTree(dir);
    return dir;
  };
  // Builds every package and test binary of the module, links them, runs no test.
  const build = (dir, gocache, instrumented) =>
    timed('go', ['test', '-count=1', '-run', '^$', ...(instrumented ? ['-toolexec', CTI_GO] : []), './...'], { cwd: dir, env: { ...process.env, GOCACHE: gocache, GOFLAGS: '' } });

  // 1. Cold: empty build caches (the standard library is compiled too).
  for (let i = 0; i < COLD_REPS; i++) {
    for (const variant of ['plain', 'instrumented']) {
      const cache = join(WORK, `cache-cold-${variant}-${i}`);
      cold[variant].push(build(copy(`cold-${variant}-${i}`), cache, variant === 'instrumented'));
      rmSync(cache, { recursive: true, force: true });
    }
  }
  // 2. The module's packages cold, standard library warm (a fresh copy of the module: new paths).
  // 3. Rebuild after a one-file edit.
  const warmCache = join(WORK, 'cache-warm');
  for (const variant of ['plain', 'instrumented']) build(copy(`prime-${variant}`), warmCache, variant === 'instrumented');
  for (let i = 0; i < REPS; i++) {
    for (const variant of ['plain', 'instrumented']) {
      const dir = copy(`warm-${variant}-${i}`);
      warm[variant].push(build(dir, warmCache, variant === 'instrumented'));
      appendFileSync(join(dir, 'cmp/compare.go'), `\n// edit ${i}\n`);
      edit[variant].push(build(dir, warmCache, variant === 'instrumented'));
    }
  }
  rmSync(warmCache, { recursive: true, force: true });
}

// 4. CPU nanoseconds per call: plain, instrumented with telemetry off and on, OpenTelemetry SDK span.
const bin = (name) => join(WORK, name);
execFileSync('go', ['build', '-o', bin('calls-plain'), '.'], { cwd: join(REPO, 'bench/go/calls') });
execFileSync('go', ['build', '-toolexec', CTI_GO, '-o', bin('calls-cti'), '.'], { cwd: join(REPO, 'bench/go/calls') });
execFileSync('go', ['build', '-o', bin('otelspan'), '.'], { cwd: join(REPO, 'bench/go/otelspan') });
const ns = (file, n, env = {}) => Number(execFileSync(file, [String(n)], { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
const calls = { plain: [], off: [], on: [], otelSdkSpan: [] };
for (let i = 0; i < REPS; i++) {
  calls.plain.push(ns(bin('calls-plain'), 50_000_000));
  calls.off.push(ns(bin('calls-cti'), 50_000_000));
  calls.on.push(ns(bin('calls-cti'), 1_000_000, { CTI_TRACES_FILE: '/dev/null' }));
  calls.otelSdkSpan.push(ns(bin('otelspan'), 1_000_000));
}

const pick = (runs, k) => median(runs.map((r) => r[k]));
const nsPerCall = Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, median(v)]));
if (CALLS_ONLY) {
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
  const out = { go: results.go, commit, reps: REPS, load: results.load, loadAfter: (await import('node:os')).loadavg(), nsPerCall, raw: calls };
  writeFileSync(join(REPO, 'bench/go/calls.json'), `${JSON.stringify(out, null, 2)}\n`);
  console.log('CPU ns per call:', nsPerCall, 'load', results.load.map((x) => x.toFixed(2)).join(' '));
  process.exit(0);
}
Object.assign(results, {
  coldBuild: { plain: { wall: pick(cold.plain, 'wall'), cpu: pick(cold.plain, 'cpu') }, instrumented: { wall: pick(cold.instrumented, 'wall'), cpu: pick(cold.instrumented, 'cpu') } },
  moduleColdStdlibWarm: { plain: { wall: pick(warm.plain, 'wall'), cpu: pick(warm.plain, 'cpu') }, instrumented: { wall: pick(warm.instrumented, 'wall'), cpu: pick(warm.instrumented, 'cpu') } },
  oneFileEdit: { plain: { wall: pick(edit.plain, 'wall'), cpu: pick(edit.plain, 'cpu') }, instrumented: { wall: pick(edit.instrumented, 'wall'), cpu: pick(edit.instrumented, 'cpu') } },
  nsPerCall,
  raw: { cold, warm, edit, calls },
});
writeFileSync(join(REPO, 'bench/go/results.json'), `${JSON.stringify(results, null, 2)}\n`);
const row = (name, r) => `${name.padEnd(38)} ${r.plain.wall.toFixed(2).padStart(7)} s ${r.instrumented.wall.toFixed(2).padStart(7)} s ${(r.instrumented.wall / r.plain.wall).toFixed(2).padStart(6)}x   cpu ${(r.instrumented.cpu / r.plain.cpu).toFixed(2)}x`;
console.log(`${MODULE}: go test -run '^$' ./... (builds and links every test binary), median of ${REPS}`);
console.log(`${''.padEnd(38)} ${'plain'.padStart(9)} ${'cti-go'.padStart(9)}  ratio`);
console.log(row('cold (empty GOCACHE)', results.coldBuild));
console.log(row('module cold, standard library warm', results.moduleColdStdlibWarm));
console.log(row('rebuild after a one-file edit', results.oneFileEdit));
console.log('CPU ns per call:', results.nsPerCall);
