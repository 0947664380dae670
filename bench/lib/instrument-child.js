// Cold instrumentation throughput: cti's instrument() vs istanbul-lib-instrument on the same
// files, both with source maps, passes alternating within this one process.
//
//   node --expose-gc bench/lib/instrument-child.js <reps>
//
// Prints one JSON line.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { BENCH, loadCorpus, NODE_MODULES } from './corpus.js';

const REPS = Number(process.argv[2] ?? 5);
// The cti build under test: bench/run.js passes a snapshot of dist/ (BENCH_CTI_ROOT).
const ROOT = process.env.BENCH_CTI_ROOT ?? join(BENCH, '..');
const { instrument } = await import(pathToFileURL(join(ROOT, 'dist/core/index.js')).href);
const require = createRequire(join(BENCH, 'package.json'));
const { createInstrumenter } = require('istanbul-lib-instrument');
const { defaults } = require('@istanbuljs/schema');

const gc = globalThis.gc ?? (() => {});
const files = loadCorpus();

// istanbul's defaults, plus source maps and ES modules; TypeScript needs babel's plugin.
const istanbulFor = {
  js: createInstrumenter({ esModules: true, produceSourceMap: true }),
  ts: createInstrumenter({ esModules: true, produceSourceMap: true, parserPlugins: [...defaults.instrumenter.parserPlugins, 'typescript'] }),
};
const ctiOptions = (f) => ({ filename: f.path, root: NODE_MODULES, sourceMap: true });

async function runCti(f) {
  const r = await instrument(f.code, ctiOptions(f));
  const failed = r.diagnostics.some((d) => d.severity === 'error');
  return { failed, instrumented: r.instrumented, functions: r.stats.functions, mapped: r.map !== null, outBytes: r.code.length };
}

function runIstanbul(f) {
  const inst = istanbulFor[f.group];
  const code = inst.instrumentSync(f.code, f.path);
  return { mapped: inst.lastSourceMap() != null, outBytes: code.length };
}

// Warm-up pass, which also drops the files that either tool cannot handle (from both).
const usable = [];
const excluded = [];
let functions = 0;
let ctiInstrumented = 0;
let ctiMaps = 0;
let istanbulMaps = 0;
for (const f of files) {
  let c;
  let i;
  try {
    c = await runCti(f);
  } catch (e) {
    c = { failed: true, error: String(e) };
  }
  try {
    i = runIstanbul(f);
  } catch (e) {
    i = { failed: true, error: String(e).split('\n')[0] };
  }
  if (c.failed || i.failed) {
    excluded.push({ file: f.rel, cti: c.failed ? (c.error ?? 'parse error diagnostic') : 'ok', istanbul: i.failed ? i.error : 'ok' });
    continue;
  }
  usable.push(f);
  functions += c.functions;
  if (c.instrumented) ctiInstrumented++;
  if (c.mapped) ctiMaps++;
  if (i.mapped) istanbulMaps++;
}

const groups = ['js', 'ts', 'all'];
const inGroup = (f, g) => g === 'all' || f.group === g;
const size = Object.fromEntries(groups.map((g) => {
  const fs = usable.filter((f) => inGroup(f, g));
  return [g, { files: fs.length, bytes: fs.reduce((a, f) => a + f.bytes, 0) }];
}));

async function pass(tool) {
  gc();
  const ms = { js: 0, ts: 0 };
  for (const f of usable) {
    const t0 = performance.now();
    if (tool === 'cti') await instrument(f.code, ctiOptions(f));
    else istanbulFor[f.group].instrumentSync(f.code, f.path), istanbulFor[f.group].lastSourceMap();
    ms[f.group] += performance.now() - t0;
  }
  ms.all = ms.js + ms.ts;
  return ms;
}

const reps = [];
for (let r = 0; r < REPS; r++) {
  // Alternate which tool goes first, so neither always runs after the other's garbage.
  const order = r % 2 === 0 ? ['cti', 'istanbul'] : ['istanbul', 'cti'];
  const rep = {};
  for (const tool of order) rep[tool] = await pass(tool);
  reps.push(rep);
}

process.stdout.write(`${JSON.stringify({
  corpus: size,
  parts: [...new Set(usable.map((f) => f.part))].map((part) => {
    const fs = usable.filter((f) => f.part === part);
    return { part, files: fs.length, bytes: fs.reduce((a, f) => a + f.bytes, 0) };
  }),
  excluded,
  functions,
  ctiInstrumented,
  ctiMaps,
  istanbulMaps,
  reps,
})}\n`);
