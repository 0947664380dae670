#!/usr/bin/env node
// Vite production build benchmark of the cti plugin (issue 3, item 7). From the repository root:
//
//   npm run build && node bench/vite/run.js          (about 2.5-3.5 minutes on 2 cores)
//   node bench/vite/run.js --quick                   (1 repetition, ~40 s)
//   node bench/vite/run.js --modules 1000            (a bigger generated app; default 600)
//
// Builds a generated TypeScript app (deterministic, fixed seed; bench/.work/vite-app) with Vite
// (the repository's own devDependency) in three configurations, each build in a fresh process,
// interleaved repetition by repetition, medians reported:
//   a. plain:   no plugin
//   b. cold:    cti plugin, cacheDir emptied before the build
//   c. warm:    cti plugin, the cacheDir b just filled, sources unchanged
// Checks that every build of c is byte-identical to the b before it, and counts the instrumented
// modules (the plugin's transform results, the cache entries, and the modules registered in the
// bundle). Writes bench/vite/results.json. See bench/README.md, "Vite build".
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateApp } from './generate.js';
import { gitRev as readGitRev } from '../lib/git-rev.js';
import { loadAverage, machineInfo, round } from '../lib/machine.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const BENCH = join(HERE, '..');
const REPO = join(BENCH, '..');
const WORK = join(BENCH, '.work');
const QUICK = process.argv.includes('--quick');
const argAfter = (flag) => {
  const i = process.argv.indexOf(flag);
  return i === -1 ? undefined : process.argv[i + 1];
};
const MODULES = Number(argAfter('--modules') ?? 600);
const REPS = Number(argAfter('--reps') ?? (QUICK ? 1 : 5));
const SEED = 20261126;
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
const started = Date.now();

for (const f of ['dist/plugins/vite.js', 'dist/runtime/browser.js', 'dist/core/cache.js']) {
  if (!existsSync(join(REPO, f))) {
    log(`bench/vite: ${f} is missing; build first: npm run build && node bench/vite/run.js`);
    process.exit(1);
  }
}
if (!existsSync(join(REPO, 'node_modules/vite/package.json'))) {
  log('bench/vite: vite is missing (a devDependency of the repository): npm install');
  process.exit(1);
}
const viteVersion = JSON.parse(readFileSync(join(REPO, 'node_modules/vite/package.json'), 'utf8')).version;

// Own directories under bench/.work (bench/run.js empties bench/.work when it starts, so do not
// run both at once).
const SNAP = join(WORK, 'vite-cti'); // dist/ snapshot: others may rebuild dist/ meanwhile
const APP = join(WORK, 'vite-app');
const OUT = join(WORK, 'vite-out');
const CACHE = join(WORK, 'vite-cache');
for (const d of [SNAP, OUT, CACHE]) rmSync(d, { recursive: true, force: true });
mkdirSync(SNAP, { recursive: true });
cpSync(join(REPO, 'dist'), join(SNAP, 'dist'), { recursive: true });
copyFileSync(join(REPO, 'package.json'), join(SNAP, 'package.json'));
for (const d of ['node_modules', 'grammars']) if (existsSync(join(REPO, d))) symlinkSync(join(REPO, d), join(SNAP, d), 'junction');

const app = generateApp(APP, { modules: MODULES, seed: SEED });
// The app resolves the browser runtime (code-telemetry-injector/runtime) from the snapshot.
mkdirSync(join(APP, 'node_modules'), { recursive: true });
symlinkSync(SNAP, join(APP, 'node_modules', 'code-telemetry-injector'), 'junction');

// ---------------------------------------------------------------- helpers

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(OTEL_|CTI_)/.test(k) || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return { ...env, NODE_ENV: 'production' };
}

/** One build in a fresh Node process; wall = spawn to exit, as a user running `vite build` sees it. */
function buildOnce(mode, outDir, cacheDir) {
  const args = [join(HERE, 'build-child.js'), mode, APP, outDir, SNAP, ...(cacheDir ? [cacheDir] : [])];
  const t0 = performance.now();
  const p = spawnSync(process.execPath, args, { cwd: REPO, env: cleanEnv(), encoding: 'utf8', maxBuffer: 64 << 20 });
  const wall = performance.now() - t0;
  if (p.status !== 0) throw new Error(`build ${mode} failed (${p.status}):\n${p.stderr}`);
  return { wall, ...JSON.parse(p.stdout.trim().split('\n').pop()) };
}

/** Every output file: relative path -> sha256, and total bytes. */
function outputDigest(dir) {
  const files = {};
  let bytes = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const buf = readFileSync(p);
        bytes += buf.length;
        files[relative(dir, p).split('\\').join('/')] = createHash('sha256').update(buf).digest('hex');
      }
    }
  };
  walk(dir);
  return { files, bytes, sha256: createHash('sha256').update(JSON.stringify(files)).digest('hex').slice(0, 16) };
}

/** Modules registered with the runtime in the bundle: minified `x("src/m0001.ts","typescript 1 1 120 128|…` calls. */
function registeredModules(dir) {
  const names = new Set();
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) for (const m of readFileSync(p, 'utf8').matchAll(/\("([^"\\]+\.[cm]?[jt]sx?)","[a-z]+ [01] [01] \d+ \d+[|"]/g)) names.add(m[1]);
    }
  };
  walk(dir);
  return names.size;
}

const { cacheStats } = await import(pathToFileURL(join(SNAP, 'dist/core/cache.js')).href);

const gitRev = readGitRev(REPO);

// ---------------------------------------------------------------- run

const machine = machineInfo();
log(`bench/vite: node ${process.version}, vite ${viteVersion}, ${machine.cores} cores, load ${machine.loadAverageAtStart.join(' ')}`);
log(`bench/vite: app of ${app.modules} modules (${app.generatedModules} generated + main.ts), ${(app.bytes / 1e6).toFixed(2)} MB, ${app.lines} lines; ${REPS} repetition(s)`);

// Warm-up (not counted): one build of each kind, so the OS file cache holds Vite, the plugin and the app.
log('bench/vite: warm-up ...');
buildOnce('plain', join(OUT, 'plain'));
rmSync(CACHE, { recursive: true, force: true });
buildOnce('cti', join(OUT, 'cold'), CACHE);
buildOnce('cti', join(OUT, 'warm'), CACHE);

const reps = [];
const identical = [];
let plainDigest, coldDigest, cacheEntries, instrumentedInBundle;
for (let r = 0; r < REPS; r++) {
  // The order rotates each repetition, so a noisy stretch of the machine does not hit one
  // configuration only; c always follows the b that filled its cache.
  const order = [['plain', 'coldwarm'], ['coldwarm', 'plain']][r % 2];
  const rep = { load: loadAverage()[0] };
  for (const step of order) {
    if (step === 'plain') {
      rep.plain = buildOnce('plain', join(OUT, 'plain'));
      plainDigest = outputDigest(join(OUT, 'plain'));
    } else {
      rmSync(CACHE, { recursive: true, force: true });
      rep.cold = buildOnce('cti', join(OUT, 'cold'), CACHE);
      coldDigest = outputDigest(join(OUT, 'cold'));
      cacheEntries = (await cacheStats(CACHE)).entries;
      rep.warm = buildOnce('cti', join(OUT, 'warm'), CACHE);
      const warmDigest = outputDigest(join(OUT, 'warm'));
      const entriesAfterWarm = (await cacheStats(CACHE)).entries;
      identical.push(warmDigest.sha256 === coldDigest.sha256);
      rep.cacheEntriesAfterCold = cacheEntries;
      rep.newCacheEntriesInWarm = entriesAfterWarm - cacheEntries;
      instrumentedInBundle = registeredModules(join(OUT, 'warm'));
    }
  }
  reps.push(rep);
  log(`bench/vite:   rep ${r + 1}/${REPS} (load ${rep.load}): plain ${rep.plain.wall.toFixed(0)} ms, cold ${rep.cold.wall.toFixed(0)} ms, warm ${rep.warm.wall.toFixed(0)} ms, warm == cold: ${identical.at(-1)}`);
}

const cfg = (k, what) => {
  const wall = reps.map((r) => r[k].wall);
  return {
    what,
    wallMsMedian: round(median(wall), 0),
    wallMs: wall.map((x) => round(x, 0)),
    inProcessMsMedian: round(median(reps.map((r) => r[k].ms)), 0),
    cpuMsMedian: round(median(reps.map((r) => r[k].cpuMs)), 0),
    moduleGraphMsMedian: round(median(reps.map((r) => r[k].graphMs)), 0),
    outputMsMedian: round(median(reps.map((r) => r[k].outputMs)), 0),
    ctiTransformBusyMsMedian: k === 'plain' ? null : round(median(reps.map((r) => r[k].busyMs)), 0),
  };
};
const ratio = (k) => round(median(reps.map((r) => r[k].wall / r.plain.wall)), 2);
const cpuRatio = (k) => round(median(reps.map((r) => r[k].cpuMs / r.plain.cpuMs)), 2);
const coldOverPlain = ratio('cold');
const warmOverPlain = ratio('warm');
const results = {
  date: new Date().toISOString(),
  mode: QUICK ? 'quick' : 'full',
  machine,
  commit: gitRev,
  vite: viteVersion,
  app: { ...app, generator: 'bench/vite/generate.js', dir: 'bench/.work/vite-app' },
  repetitions: REPS,
  configs: {
    plain: cfg('plain', 'vite build, no plugin'),
    cold: cfg('cold', 'vite build + cti plugin, empty cacheDir'),
    warm: cfg('warm', 'vite build + cti plugin, cacheDir filled by the cold build, sources unchanged'),
  },
  ratios: {
    coldOverPlain, warmOverPlain,
    coldOverPlainPerRep: reps.map((r) => round(r.cold.wall / r.plain.wall)), warmOverPlainPerRep: reps.map((r) => round(r.warm.wall / r.plain.wall)),
    // The same from the Node process's CPU time (esbuild's transforms and minification run in its own process and are not in it).
    cpu: { coldOverPlain: cpuRatio('cold'), warmOverPlain: cpuRatio('warm') },
  },
  instrumented: {
    pluginTransformCalls: reps.at(-1).cold.transforms,
    pluginInstrumentedModules: reps.at(-1).cold.instrumented,
    pluginInstrumentedModulesWarm: reps.at(-1).warm.instrumented,
    cacheEntriesAfterColdBuild: cacheEntries,
    newCacheEntriesDuringWarmBuilds: reps.map((r) => r.newCacheEntriesInWarm),
    modulesRegisteredInBundle: instrumentedInBundle,
  },
  output: {
    plainBytes: plainDigest.bytes,
    instrumentedBytes: coldDigest.bytes,
    sizeRatio: round(coldDigest.bytes / plainDigest.bytes),
    warmIdenticalToCold: identical.every(Boolean),
    warmIdenticalToColdPerRep: identical,
    instrumentedSha256: coldDigest.sha256,
  },
  targets: {
    cold: { want: 'cold-cache instrumented build at most 1.5x the plain build', ratio: coldOverPlain, met: coldOverPlain <= 1.5 },
    warm: { want: 'warm-cache instrumented build at most 1.15x the plain build', ratio: warmOverPlain, met: warmOverPlain <= 1.15 },
  },
  loadAverageAtRepStart: reps.map((r) => r.load),
  loadAverageAtEnd: loadAverage(),
  durationSec: round((Date.now() - started) / 1e3, 0),
};
writeFileSync(join(HERE, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

const c = results.configs;
const rows = [
  ['a. plain (no cti)', c.plain, '1.00x', '1.00x'],
  ['b. cti, cold cache', c.cold, `${coldOverPlain}x`, `${results.ratios.cpu.coldOverPlain}x`],
  ['c. cti, warm cache', c.warm, `${warmOverPlain}x`, `${results.ratios.cpu.warmOverPlain}x`],
].map(([n, x, ratio_, cpuRatio_]) => [n, x.wallMsMedian, ratio_, x.cpuMsMedian, cpuRatio_, x.moduleGraphMsMedian, x.outputMsMedian, x.ctiTransformBusyMsMedian ?? '-']);
console.log(`\nVite ${viteVersion} production build, ${app.modules} modules, median of ${REPS} (fresh process per build)\n`);
console.log('| configuration | wall ms | / plain | CPU ms | CPU / plain | module graph ms | output ms | cti transforms in flight ms |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log(`\ninstrumented modules: ${results.instrumented.pluginInstrumentedModules} (plugin), ${cacheEntries} (cache entries), ${instrumentedInBundle} (registered in the bundle); new cache entries in warm builds: ${results.instrumented.newCacheEntriesDuringWarmBuilds.join(',')}`);
console.log(`output: ${plainDigest.bytes} bytes plain, ${coldDigest.bytes} instrumented (${results.output.sizeRatio}x); warm byte-identical to cold: ${results.output.warmIdenticalToCold}`);
console.log(`targets: cold <= 1.5x: ${results.targets.cold.met ? 'met' : 'NOT met'} (${coldOverPlain}x); warm <= 1.15x: ${results.targets.warm.met ? 'met' : 'NOT met'} (${warmOverPlain}x)`);
log(`bench/vite: done in ${results.durationSec} s, wrote bench/vite/results.json`);
