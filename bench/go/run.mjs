// Go benchmark (a script, not a test): build cost of `go build -toolexec cti-go` on a real
// module, and CPU cost per instrumented call. Prints a table and writes bench/go/results.json.
//   npm run build && node bench/go/run.mjs     (REPS=3 COLD_REPS=1 by default)
// BASELINE=/path/to/other/checkout/bin/cti-go also times another cti version in the same run
// (side by side: the machine's load changes between runs). Each instrumented build is followed
// by the instrumenter daemon's idle timeout (set to 3 s here, CTI_GO_DAEMON_IDLE_MS; the default is
// ten minutes), so none inherits a warm daemon from the build before.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const WORK = join(REPO, 'bench/.work/go');
const CTI_GO = join(REPO, 'bin/cti-go');
const MODULE = 'github.com/google/go-cmp@v0.7.0';
const REPS = Number(process.env.REPS ?? 3);
const COLD_REPS = Number(process.env.COLD_REPS ?? 1); // each compiles the standard library twice: minutes
const BASELINE = process.env.BASELINE;
const VARIANTS = ['plain', 'instrumented', ...(BASELINE ? ['baseline'] : [])];
const IDLE_WAIT_MS = Number(process.env.IDLE_WAIT_MS ?? 4000);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

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
const { Dir } = JSON.parse(execFileSync('go', ['mod', 'download', '-json', MODULE], { cwd: WORK, encoding: 'utf8' }));
const copy = (name) => {
  const dir = join(WORK, name);
  cpSync(Dir, dir, { recursive: true });
  chmodTree(dir);
  return dir;
};
// Builds every package and test binary of the module, links them, runs no test.
const toolexec = { plain: [], instrumented: ['-toolexec', CTI_GO], baseline: ['-toolexec', BASELINE] };
// The instrumenter daemon is no child of the go command: it adds its CPU time to a file when it
// exits (after its idle timeout, which we wait for), and we add that to the build's.
const DAEMON_CPU = join(WORK, 'daemon-cpu.log');
const SOCKETS = join(tmpdir(), `cti-go-${process.getuid()}`);
const build = (dir, gocache, variant) => {
  const r = timed('go', ['test', '-count=1', '-run', '^$', ...toolexec[variant], './...'], { cwd: dir, env: { ...process.env, GOCACHE: gocache, GOFLAGS: '', CTI_GO_DAEMON_CPU_LOG: DAEMON_CPU, CTI_GO_DAEMON_IDLE_MS: process.env.CTI_GO_DAEMON_IDLE_MS ?? '3000' } });
  if (variant !== 'plain') {
    sleep(IDLE_WAIT_MS);
    for (let t = 0; t < 150 && existsSync(SOCKETS) && readdirSync(SOCKETS).some((f) => f.endsWith('.sock')); t++) sleep(200); // a loaded machine
    r.daemonCpu = existsSync(DAEMON_CPU) ? readFileSync(DAEMON_CPU, 'utf8').split('\n').filter(Boolean).reduce((a, b) => a + Number(b), 0) : 0;
    r.cpu += r.daemonCpu;
    rmSync(DAEMON_CPU, { force: true });
  }
  return r;
};

for (const variant of VARIANTS.slice(1)) execFileSync(toolexec[variant][1], ['--version'], { stdio: 'ignore' }); // builds the shim once, outside the timings
const { loadavg } = await import('node:os');
const results = { module: MODULE, go: execFileSync('go', ['version'], { encoding: 'utf8' }).trim(), reps: REPS, coldReps: COLD_REPS, load: loadavg() };

// 1. Cold: empty build caches (the standard library is compiled too).
const byVariant = () => Object.fromEntries(VARIANTS.map((v) => [v, []]));
const cold = byVariant();
for (let i = 0; i < COLD_REPS; i++) {
  for (const variant of VARIANTS) {
    const cache = join(WORK, `cache-cold-${variant}-${i}`);
    cold[variant].push(build(copy(`cold-${variant}-${i}`), cache, variant));
    rmSync(cache, { recursive: true, force: true });
  }
}
// 2. The module's packages cold, standard library warm (a fresh copy of the module: new paths).
// 3. Rebuild after a one-file edit.
const warmCache = join(WORK, 'cache-warm');
const warm = byVariant();
const edit = byVariant();
for (const variant of VARIANTS) build(copy(`prime-${variant}`), warmCache, variant);
for (let i = 0; i < REPS; i++) {
  for (const variant of VARIANTS) {
    const dir = copy(`warm-${variant}-${i}`);
    warm[variant].push(build(dir, warmCache, variant));
    appendFileSync(join(dir, 'cmp/compare.go'), `\n// edit ${i}\n`);
    edit[variant].push(build(dir, warmCache, variant));
  }
}
rmSync(warmCache, { recursive: true, force: true });

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
const summary = (runs) => Object.fromEntries(VARIANTS.map((v) => [v, { wall: pick(runs[v], 'wall'), cpu: pick(runs[v], 'cpu') }]));
Object.assign(results, {
  baseline: BASELINE,
  loadAfter: loadavg(),
  coldBuild: summary(cold),
  moduleColdStdlibWarm: summary(warm),
  oneFileEdit: summary(edit),
  nsPerCall: Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, median(v)])),
  raw: { cold, warm, edit, calls },
});
writeFileSync(join(REPO, 'bench/go/results.json'), `${JSON.stringify(results, null, 2)}\n`);
const cell = (r, v) => `${r[v].wall.toFixed(2).padStart(7)} s ${(r[v].wall / r.plain.wall).toFixed(2).padStart(5)}x cpu ${r[v].cpu.toFixed(1).padStart(6)} s ${(r[v].cpu / r.plain.cpu).toFixed(2).padStart(5)}x`;
const row = (name, r) => `${name.padEnd(36)} ${r.plain.wall.toFixed(2).padStart(7)} s cpu ${r.plain.cpu.toFixed(1).padStart(6)} s | ${VARIANTS.slice(1).map((v) => cell(r, v)).join(' | ')}`;
console.log(`${MODULE}: go test -run '^$' ./... (builds and links every test binary), median of ${REPS}; load ${results.load.map((l) => l.toFixed(2)).join(' ')} before, ${results.loadAfter.map((l) => l.toFixed(2)).join(' ')} after`);
console.log(`${''.padEnd(36)} ${'plain'.padEnd(20)} | ${VARIANTS.slice(1).join(' | ')}`);
console.log(row('cold (empty GOCACHE)', results.coldBuild));
console.log(row('module cold, standard library warm', results.moduleColdStdlibWarm));
console.log(row('rebuild after a one-file edit', results.oneFileEdit));
console.log('CPU ns per call:', results.nsPerCall);
