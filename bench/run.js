#!/usr/bin/env node
// Benchmark of code-telemetry-injector (cti). Run from the repository root after a build:
//
//   npm run build && node bench/run.js            (about 3-5 minutes on 2 cores)
//   node bench/run.js --quick                     (smoke run: fewer, shorter repetitions)
//   node bench/run.js --profile                   (also writes CPU profiles of the runtime and
//                                                  the cache hit path to bench/.work/profiles
//                                                  and prints their top functions)
//
// Measures (see bench/README.md): 1. cold instrumentation throughput, cti vs istanbul;
// 2. cache-hit throughput vs cold instrumentation; 3. runtime cost per instrumented call vs an
// uninstrumented baseline and the OpenTelemetry JS SDK. Every comparison is made side by side
// in this one run; figures are medians of several repetitions. Writes bench/results.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gitRev as readGitRev } from './lib/git-rev.js';
import { loadAverage, machineInfo, round } from './lib/machine.js';

const BENCH = dirname(fileURLToPath(import.meta.url));
const REPO = join(BENCH, '..');
const WORK = join(BENCH, '.work');
const QUICK = process.argv.includes('--quick');
const PROFILE = process.argv.includes('--profile');
const started = Date.now();
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);

// ---------------------------------------------------------------- setup

for (const f of ['dist/core/index.js', 'dist/core/cache.js', 'dist/runtime/node.js', 'dist/runtime/core.js']) {
  if (!existsSync(join(REPO, f))) {
    log(`bench: ${f} is missing; build first: npm run build && node bench/run.js`);
    process.exit(1);
  }
}

const benchPkg = JSON.parse(readFileSync(join(BENCH, 'package.json'), 'utf8'));
const missing = Object.keys(benchPkg.dependencies).filter((d) => !existsSync(join(BENCH, 'node_modules', d, 'package.json')));
if (missing.length > 0) {
  log(`bench: installing the benchmark's own dependencies into bench/node_modules (${missing.join(', ')})`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['install', '--prefix', 'bench', '--no-audit', '--no-fund'], { cwd: REPO, stdio: ['ignore', 2, 2], shell: process.platform === 'win32' });
}
const installedVersion = (name) => JSON.parse(readFileSync(join(BENCH, 'node_modules', name, 'package.json'), 'utf8')).version;

rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });

// Others may rebuild dist/ while this runs (minutes): every part measures one snapshot of it,
// taken now. The snapshot gets the package.json (module type, version, self-reference) and
// links to node_modules (cti's own dependencies) and grammars/.
const SNAP = join(WORK, 'cti');
mkdirSync(SNAP, { recursive: true });
cpSync(join(REPO, 'dist'), join(SNAP, 'dist'), { recursive: true });
copyFileSync(join(REPO, 'package.json'), join(SNAP, 'package.json'));
for (const d of ['node_modules', 'grammars']) if (existsSync(join(REPO, d))) symlinkSync(join(REPO, d), join(SNAP, d), 'junction');

// ---------------------------------------------------------------- helpers

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Environment without any telemetry setting, so that a configuration gets exactly what it sets. */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(OTEL_|CTI_)/.test(k) || k === 'RECEIVER_URL' || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return { ...env, BENCH_CTI_ROOT: SNAP, ...extra };
}

/** Runs a child Node process and parses the JSON line it prints. */
function child(args, { env = cleanEnv(), nodeArgs = [] } = {}) {
  if (env.BENCH_CTI_ROOT !== SNAP) throw new Error('child without the dist snapshot');
  const p = spawnSync(process.execPath, [...nodeArgs, ...args], { cwd: REPO, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (p.status !== 0) throw new Error(`child ${args.join(' ')} failed (${p.status}):\n${p.stderr}`);
  const line = p.stdout.trim().split('\n').pop();
  return JSON.parse(line);
}

function table(headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const fmt = (r) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [fmt(cells[0]), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...cells.slice(1).map(fmt)].join('\n');
}

const gitRev = readGitRev(REPO);

/** sha256 over the snapshot's dist/*.js files: which build was measured. */
function distHash() {
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) hash.update(`${p.slice(SNAP.length)}\0`).update(readFileSync(p));
    }
  };
  walk(join(SNAP, 'dist'));
  return hash.digest('hex').slice(0, 16);
}

const results = {
  date: new Date().toISOString(),
  mode: QUICK ? 'quick' : 'full',
  machine: machineInfo(),
  commit: gitRev,
  distSha256: distHash(),
  packages: Object.fromEntries(Object.keys(benchPkg.dependencies).map((d) => [d, installedVersion(d)])),
};
log(`bench: node ${process.version}, ${results.machine.cores} cores, load ${results.machine.loadAverageAtStart.join(' ')}, mode ${results.mode}`);

// ---------------------------------------------------------------- 1. cold instrumentation

log('bench: 1/3 cold instrumentation, cti instrument() vs istanbul-lib-instrument ...');
const inst = child([join(BENCH, 'lib/instrument-child.js'), String(QUICK ? 1 : 5)], { nodeArgs: ['--expose-gc'] });
{
  const groups = ['js', 'ts', 'all'];
  const out = { corpus: inst.parts, excluded: inst.excluded, functionsInstrumented: inst.functions, ctiFilesInstrumented: inst.ctiInstrumented, ctiSourceMaps: inst.ctiMaps, istanbulSourceMaps: inst.istanbulMaps, repetitions: inst.reps.length, groups: {} };
  for (const g of groups) {
    const { files, bytes } = inst.corpus[g];
    const per = (tool) => {
      const ms = inst.reps.map((r) => r[tool][g]);
      return { files, bytes, msMedian: round(median(ms), 1), ms: ms.map((x) => round(x, 1)), mbPerSec: round(bytes / 1e6 / (median(ms) / 1e3)), filesPerSec: round(files / (median(ms) / 1e3), 0) };
    };
    // Ratio per repetition (the two passes ran back to back), then the median of the ratios.
    const speedup = median(inst.reps.map((r) => r.istanbul[g] / r.cti[g]));
    out.groups[g] = { cti: per('cti'), istanbul: per('istanbul'), ctiSpeedup: round(speedup) };
  }
  out.target = { want: 'cti at least 2x faster than istanbul (all files)', speedup: out.groups.all.ctiSpeedup, met: out.groups.all.ctiSpeedup >= 2 };
  results.instrument = out;
}

// ---------------------------------------------------------------- 2. cache

log('bench: 2/3 cache: filling it (misses), then hits in a new process ...');
const cacheDir = join(WORK, 'cache');
const populate = child([join(BENCH, 'lib/cache-child.js'), 'populate', String(QUICK ? 1 : 2), cacheDir], { nodeArgs: ['--expose-gc'] });
const hits = child([join(BENCH, 'lib/cache-child.js'), 'hit', String(QUICK ? 1 : 5), cacheDir], { nodeArgs: ['--expose-gc'] });
{
  const { files, bytes } = hits;
  const rate = (ms) => ({ msMedian: round(ms, 1), mbPerSec: round(bytes / 1e6 / (ms / 1e3)), filesPerSec: round(files / (ms / 1e3), 0), usPerFile: round((ms * 1e3) / files, 1) });
  const cold = median(hits.reps.map((r) => r.cold));
  const hit = median(hits.reps.map((r) => r.hit));
  const hit16 = median(hits.reps.map((r) => r.hit16));
  const speedup = median(hits.reps.map((r) => r.cold / r.hit));
  const speedup16 = median(hits.reps.map((r) => r.cold / r.hit16));
  const bd = hits.breakdown.filter((b) => !b.error);
  const bdMedian = (k) => (bd.length ? round(median(bd.map((b) => b[k])), 1) : null);
  results.cache = {
    files,
    bytes,
    repetitions: hits.reps.length,
    cold: rate(cold),
    hit: rate(hit),
    hitConcurrent16: rate(hit16),
    firstHitPassNewProcess: rate(hits.firstHitPass),
    miss: { ...rate(median(populate.reps.map((r) => r.miss))), overheadVsCold: round(median(populate.reps.map((r) => r.miss / r.cold))) },
    hitSpeedup: round(speedup, 1),
    hitSpeedupConcurrent16: round(speedup16, 1),
    hitBreakdownMs: bd.length
      ? { keys: bdMedian('keys'), keysConfigHashPart: bdMedian('keysConfigHashPart'), readFileAsync: bdMedian('readFileAsync'), readFileSync: bdMedian('readFileSync'), decode: bdMedian('decode'), entryBytes: bd[0].entryBytes }
      : (hits.breakdown[0]?.error ?? null),
    target: { want: 'a hit at least 50x faster than a cold instrumentation', speedup: round(speedup, 1), met: speedup >= 50 },
  };
}

// ---------------------------------------------------------------- 3. runtime cost per call

log('bench: 3/3 runtime cost per call, one child process per configuration ...');
const RT = join(WORK, 'rt');
mkdirSync(RT, { recursive: true });
{
  const { instrument } = await import(pathToFileURL(join(SNAP, 'dist/core/index.js')).href);
  const source = 'export function add(a, b) { return a + b }\n';
  writeFileSync(join(RT, 'add.plain.mjs'), source);
  // The runtime is named by path: bench/ has its own package.json, so the package's
  // self-reference (code-telemetry-injector/runtime) would not resolve from here.
  const r = await instrument(source, { filename: join(RT, 'add.mjs'), root: RT, runtime: join(SNAP, 'dist/runtime/node.js'), sourceMap: false });
  if (!r.instrumented) throw new Error('add() was not instrumented');
  writeFileSync(join(RT, 'add.cti.mjs'), r.code);
  results.runtimeInstrumentedSource = r.code;
}

const q = QUICK ? 0.2 : 1;
const CONFIGS = [
  { name: 'baseline', what: 'uninstrumented add()', calls: 5e6, reps: 5 },
  { name: 'cti-off', what: 'cti, telemetry off (no exporter configured)', calls: 5e6, reps: 5 },
  { name: 'cti-discard', what: 'cti, on, hot path only (spans handed to a sink that drops them)', calls: 3e5, reps: 3 },
  ...(process.platform === 'win32' ? [] : [{ name: 'cti-devnull', what: 'cti, on, JSONL to /dev/null (encode + write(2), no disk)', calls: 1e5, reps: 3, env: { CTI_TRACES_FILE: '/dev/null' } }]),
  { name: 'cti-jsonl', what: 'cti, on, JSONL to bench/.work (whole cost)', calls: 1e5, reps: 3, env: { CTI_TRACES_FILE: join(RT, 'spans.jsonl') } },
  { name: 'otel-bsp', what: 'OTel SDK span, BatchSpanProcessor, dropping exporter', calls: 3e5, reps: 3 },
  { name: 'otel-bsp-attrs', what: 'same + args/return as attributes', calls: 3e5, reps: 3 },
  { name: 'otel-bsp-attrs-file', what: 'same + OTLP JSON serializer, written to a file', calls: 1e5, reps: 3 },
  { name: 'otel-simple-attrs', what: 'OTel SDK span + attributes, SimpleSpanProcessor, dropping exporter', calls: 1e5, reps: 3 },
];
const ROUNDS = QUICK ? 1 : 3;
// runs.wall[config][round] and runs.cpu[config][round]: per-call ns of each repetition.
const runs = { wall: {}, cpu: {} };
for (const c of CONFIGS) {
  runs.wall[c.name] = [];
  runs.cpu[c.name] = [];
}
const spanBytes = {};
for (let round_ = 0; round_ < ROUNDS; round_++) {
  // Configurations interleaved round by round, so a noisy minute hits all of them.
  for (const c of CONFIGS) {
    const calls = Math.round(c.calls * q);
    const out = child([join(BENCH, 'lib/runtime-child.js'), c.name, String(calls), String(c.reps), RT], { env: cleanEnv(c.env) });
    runs.wall[c.name].push(out.ns);
    runs.cpu[c.name].push(out.cpuNs);
    if (out.spanBytes) spanBytes[c.name] = round(out.spanBytes, 0);
  }
  log(`bench:   round ${round_ + 1}/${ROUNDS} done`);
}
/** Medians, net figures (minus the baseline) and SDK/cti ratios, for wall or CPU time. */
function summarize(r) {
  const all = (name) => r[name].flat();
  const med = (name) => median(all(name));
  const roundMed = (name, i) => median(r[name][i]);
  const base = med('baseline');
  const configs = {};
  for (const c of CONFIGS) {
    configs[c.name] = { nsPerCall: round(med(c.name), 1), netNsPerCall: round(med(c.name) - base, 1), min: round(Math.min(...all(c.name)), 1), max: round(Math.max(...all(c.name)), 1) };
  }
  // SDK net cost / cti net cost within each round, then the median over the rounds.
  const ratio = (sdk, cti) => round(median(r.baseline.map((_, i) => (roundMed(sdk, i) - roundMed('baseline', i)) / (roundMed(cti, i) - roundMed('baseline', i)))), 1);
  return {
    baselineNsPerCall: round(base, 2),
    configs,
    sdkOverCti: {
      'otel-bsp / cti-discard': ratio('otel-bsp', 'cti-discard'),
      'otel-bsp-attrs / cti-discard': ratio('otel-bsp-attrs', 'cti-discard'),
      'otel-bsp-attrs / cti-jsonl': ratio('otel-bsp-attrs', 'cti-jsonl'),
      'otel-bsp-attrs-file / cti-jsonl': ratio('otel-bsp-attrs-file', 'cti-jsonl'),
    },
  };
}
{
  const wall = summarize(runs.wall);
  const cpu = summarize(runs.cpu);
  const configs = {};
  for (const c of CONFIGS) {
    configs[c.name] = { what: c.what, calls: Math.round(c.calls * q), samples: runs.wall[c.name].flat().length, ...wall.configs[c.name], cpuNsPerCall: cpu.configs[c.name].nsPerCall, cpuNetNsPerCall: cpu.configs[c.name].netNsPerCall, bytesPerSpan: spanBytes[c.name] ?? null };
  }
  const net = (n) => configs[n].netNsPerCall;
  const cpuNet = (n) => configs[n].cpuNetNsPerCall;
  const r8 = wall.sdkOverCti;
  const c8 = cpu.sdkOverCti;
  // Verdicts on wall-clock medians; the CPU-time figure is shown beside each as a cross-check.
  results.runtime = {
    rounds: ROUNDS,
    baselineNsPerCall: wall.baselineNsPerCall,
    cpuBaselineNsPerCall: cpu.baselineNsPerCall,
    configs,
    sdkOverCti: r8,
    cpuSdkOverCti: c8,
    targets: {
      onWholeCost: { want: 'cti-jsonl net <= 150 ns/call', net: net('cti-jsonl'), cpuNet: cpuNet('cti-jsonl'), met: net('cti-jsonl') <= 150 },
      onHotPath: { want: 'cti-discard net <= 150 ns/call', net: net('cti-discard'), cpuNet: cpuNet('cti-discard'), met: net('cti-discard') <= 150 },
      vsSdkHotPath: { want: 'SDK span (with attributes, spans dropped) >= 8x the cti hot path', ratio: r8['otel-bsp-attrs / cti-discard'], cpuRatio: c8['otel-bsp-attrs / cti-discard'], met: r8['otel-bsp-attrs / cti-discard'] >= 8 },
      vsSdkWholeCost: { want: 'SDK span (attributes, OTLP JSON to a file) >= 8x cti with JSONL to a file', ratio: r8['otel-bsp-attrs-file / cti-jsonl'], cpuRatio: c8['otel-bsp-attrs-file / cti-jsonl'], met: r8['otel-bsp-attrs-file / cti-jsonl'] >= 8 },
      off: { want: 'cti-off net <= 15 ns/call', net: net('cti-off'), cpuNet: cpuNet('cti-off'), met: net('cti-off') <= 15 },
    },
  };
}
rmSync(join(RT, 'spans.jsonl'), { force: true });
rmSync(join(RT, 'otel-spans.json'), { force: true });

// ---------------------------------------------------------------- optional profiles

function topOfProfile(file, n = 14) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parentOf = new Map();
  for (const x of p.nodes) for (const c of x.children ?? []) parentOf.set(c, x);
  const label = (x) => {
    const cf = x.callFrame;
    return `${cf.functionName || '(anonymous)'}${cf.url ? ` ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}` : ''}`;
  };
  const self = new Map();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    const x = byId.get(id);
    // Native frames (no URL) are named with their caller: "(anonymous) <- createFromString ...".
    const parent = parentOf.get(id);
    const key = x.callFrame.url || !parent || parent.callFrame.functionName === '(root)' ? label(x) : `${label(x)} <- ${label(parent)}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([fn, us]) => ({ fn, selfPct: round((100 * us) / total, 1) }));
}

if (PROFILE) {
  log('bench: profiling ...');
  const dir = join(WORK, 'profiles');
  mkdirSync(dir, { recursive: true });
  const prof = (name, args, env) => {
    const sub = join(dir, name);
    mkdirSync(sub, { recursive: true });
    child(args, { env, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${sub}`, '--expose-gc'] });
    return topOfProfile(join(sub, readdirSync(sub).find((f) => f.endsWith('.cpuprofile'))));
  };
  results.profiles = {
    'cti-discard': prof('cti-discard', [join(BENCH, 'lib/runtime-child.js'), 'cti-discard', '1000000', '2', RT], cleanEnv()),
    'cti-jsonl': prof('cti-jsonl', [join(BENCH, 'lib/runtime-child.js'), 'cti-jsonl', '200000', '2', RT], cleanEnv({ CTI_TRACES_FILE: join(RT, 'spans.jsonl') })),
    'cache-hit': prof('cache-hit', [join(BENCH, 'lib/cache-child.js'), 'hit-only', '8', cacheDir], cleanEnv()),
  };
  rmSync(join(RT, 'spans.jsonl'), { force: true });
}

// ---------------------------------------------------------------- report

results.seconds = round((Date.now() - started) / 1000, 0);
results.machine.loadAverageAtEnd = loadAverage();
writeFileSync(join(BENCH, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

const I = results.instrument.groups;
const C = results.cache;
const R = results.runtime;
const verdict = (t) => (t.met ? 'MET' : 'NOT MET');
const out = [];
out.push(`cti benchmark: node ${process.version}, ${results.machine.cores} cores (${results.machine.cpu}), load ${results.machine.loadAverageAtStart.join('/')} -> ${results.machine.loadAverageAtEnd.join('/')}, ${results.seconds} s, medians`);
out.push('', `1. Cold instrumentation, source maps on (${I.all.cti.files} files, ${round(I.all.cti.bytes / 1e6)} MB, ${results.instrument.repetitions} reps; speedup = median of per-rep istanbul/cti time)`);
out.push(table(['files', 'cti MB/s', 'cti files/s', 'istanbul MB/s', 'istanbul files/s', 'cti speedup'], ['js', 'ts', 'all'].map((g) => [`${g} (${I[g].cti.files} files, ${round(I[g].cti.bytes / 1e6)} MB)`, I[g].cti.mbPerSec, I[g].cti.filesPerSec, I[g].istanbul.mbPerSec, I[g].istanbul.filesPerSec, `${I[g].ctiSpeedup}x`])));
out.push('', `2. Cache (${C.files} files, ${round(C.bytes / 1e6)} MB, ${C.repetitions} reps; hit = new cache object on a filled on-disk cache)`);
out.push(table(['pass', 'ms', 'MB/s', 'files/s', 'us/file'], [
  ['cold instrument()', C.cold.msMedian, C.cold.mbPerSec, C.cold.filesPerSec, C.cold.usPerFile],
  ['instrumentCached, miss (fills cache)', C.miss.msMedian, C.miss.mbPerSec, C.miss.filesPerSec, C.miss.usPerFile],
  ['instrumentCached, hit, sequential', C.hit.msMedian, C.hit.mbPerSec, C.hit.filesPerSec, C.hit.usPerFile],
  ['instrumentCached, hit, 16 in flight', C.hitConcurrent16.msMedian, C.hitConcurrent16.mbPerSec, C.hitConcurrent16.filesPerSec, C.hitConcurrent16.usPerFile],
  ['first hit pass of a new process', C.firstHitPassNewProcess.msMedian, C.firstHitPassNewProcess.mbPerSec, C.firstHitPassNewProcess.filesPerSec, C.firstHitPassNewProcess.usPerFile],
]));
out.push(`hit speedup vs cold: ${C.hitSpeedup}x sequential, ${C.hitSpeedupConcurrent16}x with 16 in flight; miss costs ${C.miss.overheadVsCold}x a cold instrument()`);
if (C.hitBreakdownMs && typeof C.hitBreakdownMs === 'object') {
  const b = C.hitBreakdownMs;
  out.push(`hit path, whole corpus: keys ${b.keys} ms (config hash part ${b.keysConfigHashPart}), fs/promises readFile ${b.readFileAsync} ms (readFileSync would be ${b.readFileSync}), decode+verify ${b.decode} ms; entries ${round(b.entryBytes / 1e6)} MB for ${round(C.bytes / 1e6)} MB of source`);
}
out.push('', `3. Runtime cost per call of add(a, b) (baseline ${R.baselineNsPerCall} ns/call wall, ${R.cpuBaselineNsPerCall} CPU; ${R.rounds} rounds of one process per configuration)`);
out.push(table(['configuration', 'ns/call', 'net ns/call', 'min', 'max', 'CPU ns/call', 'CPU net', 'calls', 'samples'], Object.entries(R.configs).map(([n, c]) => [`${n}: ${c.what}`, c.nsPerCall, c.netNsPerCall, c.min, c.max, c.cpuNsPerCall, c.cpuNetNsPerCall, c.calls, c.samples])));
out.push(`SDK net / cti net (wall): ${Object.entries(R.sdkOverCti).map(([k, v]) => `${k} = ${v}x`).join('; ')}`);
out.push(`SDK net / cti net (CPU):  ${Object.entries(R.cpuSdkOverCti).map(([k, v]) => `${k} = ${v}x`).join('; ')}`);
if (R.configs['cti-jsonl'].bytesPerSpan) out.push(`JSONL: ${R.configs['cti-jsonl'].bytesPerSpan} bytes per span`);
out.push('', 'Targets');
out.push(table(['target', 'measured', '(CPU time)', 'verdict'], [
  [results.instrument.target.want, `${results.instrument.target.speedup}x`, '', verdict(results.instrument.target)],
  [C.target.want, `${C.target.speedup}x`, '', verdict(C.target)],
  [R.targets.onWholeCost.want, `${R.targets.onWholeCost.net} ns`, `${R.targets.onWholeCost.cpuNet} ns`, verdict(R.targets.onWholeCost)],
  [R.targets.onHotPath.want, `${R.targets.onHotPath.net} ns`, `${R.targets.onHotPath.cpuNet} ns`, verdict(R.targets.onHotPath)],
  [R.targets.vsSdkHotPath.want, `${R.targets.vsSdkHotPath.ratio}x`, `${R.targets.vsSdkHotPath.cpuRatio}x`, verdict(R.targets.vsSdkHotPath)],
  [R.targets.vsSdkWholeCost.want, `${R.targets.vsSdkWholeCost.ratio}x`, `${R.targets.vsSdkWholeCost.cpuRatio}x`, verdict(R.targets.vsSdkWholeCost)],
  [R.targets.off.want, `${R.targets.off.net} ns`, `${R.targets.off.cpuNet} ns`, verdict(R.targets.off)],
]));
if (results.profiles) {
  for (const [name, top] of Object.entries(results.profiles)) {
    out.push('', `profile ${name} (self time):`);
    for (const t of top) out.push(`  ${String(t.selfPct).padStart(5)}%  ${t.fn}`);
  }
}
out.push('', `written: bench/results.json`);
console.log(out.join('\n'));
