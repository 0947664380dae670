// Cache throughput: instrumentCached() (src/core/cache.ts) against cold instrument(), on the
// corpus of bench/lib/corpus.js.
//
//   node --expose-gc bench/lib/cache-child.js populate <reps> <cacheDir>
//     Side by side, per repetition: a cold instrument() pass, then an instrumentCached() pass
//     into an emptied cache (all misses: instrument + key + write). Leaves the cache filled.
//   node --expose-gc bench/lib/cache-child.js hit <reps> <cacheDir>
//     A new process on the filled cache. The first pass is reported on its own (cold JIT);
//     then per repetition a cold instrument() pass and a hit pass through a NEW cache object
//     (the disk cache has no in-memory layer, so every hit reads and checks its file).
//   node bench/lib/cache-child.js hit-only <reps> <cacheDir>
//     Hit passes only (for a CPU profile of the hit path).
//
// Prints one JSON line.
import { readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { BENCH, loadCorpus, NODE_MODULES } from './corpus.js';

const [phase, repsArg, cacheDir] = process.argv.slice(2);
const REPS = Number(repsArg);
// The cti build under test: bench/run.js passes a snapshot of dist/ (BENCH_CTI_ROOT).
const ROOT = process.env.BENCH_CTI_ROOT ?? join(BENCH, '..');
const { instrument } = await import(pathToFileURL(join(ROOT, 'dist/core/index.js')).href);
const { instrumentCached, openCache, cacheKey, cacheKeyParts, decodeEntry } = await import(pathToFileURL(join(ROOT, 'dist/core/cache.js')).href);
const { languageFor, configHash, resolveConfig } = await import(pathToFileURL(join(ROOT, 'dist/core/index.js')).href);

const gc = globalThis.gc ?? (() => {});
const files = loadCorpus();
const bytes = files.reduce((a, f) => a + f.bytes, 0);
const options = (f) => ({ filename: f.path, root: NODE_MODULES, sourceMap: true });

async function coldPass() {
  gc();
  const out = new Array(files.length);
  const t0 = performance.now();
  for (let i = 0; i < files.length; i++) out[i] = await instrument(files[i].code, options(files[i]));
  return { ms: performance.now() - t0, out };
}

async function cachedPass() {
  gc();
  const cache = openCache({ dir: cacheDir });
  const out = new Array(files.length);
  const t0 = performance.now();
  for (let i = 0; i < files.length; i++) out[i] = await instrumentCached(files[i].code, options(files[i]), cache);
  return { ms: performance.now() - t0, out };
}

/** Like a build tool would: up to `width` files in flight at once. */
async function concurrentCachedPass(width) {
  gc();
  const cache = openCache({ dir: cacheDir });
  const out = new Array(files.length);
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    for (let i; (i = next++) < files.length; ) out[i] = await instrumentCached(files[i].code, options(files[i]), cache);
  };
  await Promise.all(Array.from({ length: width }, worker));
  return { ms: performance.now() - t0, out };
}

/**
 * Where a hit's time goes, step by step over the whole corpus, using the cache's own exported
 * pieces (cacheKeyParts, cacheKey, decodeEntry). The entry path (<dir>/<key[0..2]>/<key>.json)
 * mirrors src/core/cache.ts; if the layout changes, this part reports it instead of timing it.
 */
async function breakdown() {
  gc();
  const ms = {};
  let t0 = performance.now();
  const keys = files.map((f) => cacheKey(cacheKeyParts(f.code, options(f), languageFor(f.path))));
  ms.keys = performance.now() - t0;
  // The part of the key that does not depend on the file: recomputed on every call today.
  t0 = performance.now();
  for (const f of files) configHash(resolveConfig(options(f).config));
  ms.keysConfigHashPart = performance.now() - t0;
  const paths = keys.map((k) => join(cacheDir, k.slice(0, 2), `${k}.json`));
  t0 = performance.now();
  const datas = [];
  for (const p of paths) datas.push(await readFile(p));
  ms.readFileAsync = performance.now() - t0;
  t0 = performance.now();
  for (const p of paths) readFileSync(p);
  ms.readFileSync = performance.now() - t0;
  t0 = performance.now();
  let ok = 0;
  for (let i = 0; i < datas.length; i++) if (decodeEntry(datas[i], keys[i]) !== null) ok++;
  ms.decode = performance.now() - t0;
  if (ok !== files.length) return { error: `entry layout changed: ${ok}/${files.length} entries decoded` };
  ms.entryBytes = datas.reduce((a, d) => a + d.length, 0);
  return ms;
}

function check(cold, cached, wantHits) {
  for (let i = 0; i < files.length; i++) {
    if (cached[i].cacheHit !== wantHits) throw new Error(`${files[i].rel}: cacheHit is ${cached[i].cacheHit}, expected ${wantHits}`);
    if (cached[i].code !== cold[i].code) throw new Error(`${files[i].rel}: cached code differs from instrument()`);
  }
}

const result = { phase, files: files.length, bytes, reps: [] };
if (phase === 'populate') {
  for (let r = 0; r < REPS; r++) {
    rmSync(cacheDir, { recursive: true, force: true });
    const cold = await coldPass();
    const miss = await cachedPass();
    check(cold.out, miss.out, false);
    result.reps.push({ cold: cold.ms, miss: miss.ms });
  }
} else if (phase === 'hit') {
  const first = await cachedPass();
  const cold0 = await coldPass();
  check(cold0.out, first.out, true);
  result.firstHitPass = first.ms;
  for (let r = 0; r < REPS; r++) {
    const order = r % 2 === 0 ? ['cold', 'hit'] : ['hit', 'cold'];
    const rep = {};
    let cold;
    let hit;
    for (const which of order) {
      if (which === 'cold') cold = await coldPass();
      else hit = await cachedPass();
    }
    check(cold.out, hit.out, true);
    rep.cold = cold.ms;
    rep.hit = hit.ms;
    const conc = await concurrentCachedPass(16);
    check(cold.out, conc.out, true);
    rep.hit16 = conc.ms;
    result.reps.push(rep);
  }
  result.breakdown = [];
  for (let r = 0; r < REPS; r++) result.breakdown.push(await breakdown());
} else if (phase === 'hit-only') {
  // For profiling the hit path: hit passes and nothing else.
  for (let r = 0; r < REPS; r++) {
    const hit = await cachedPass();
    if (!hit.out.every((x) => x.cacheHit)) throw new Error('not all hits');
    result.reps.push({ hit: hit.ms });
  }
} else {
  throw new Error(`unknown phase ${phase}`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
