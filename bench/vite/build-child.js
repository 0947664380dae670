// One Vite production build in this (fresh) process; prints one JSON line.
//   node bench/vite/build-child.js <plain|cti> <appDir> <outDir> <ctiSnapshotDir> [cacheDir]
// The timed region starts before Vite and the plugin are imported, so it includes loading them.
const t0 = performance.now();
const [mode, appDir, outDir, snap, cacheDir] = process.argv.slice(2);
const { join } = await import('node:path');
const { pathToFileURL } = await import('node:url');
const { build } = await import('vite');
const plugins = [];
let transforms = 0;
let instrumented = 0;
let busyMs = 0; // wall time with at least one cti transform in flight
let inFlight = 0;
let busySince = 0;
if (mode === 'cti') {
  const { default: cti } = await import(pathToFileURL(join(snap, 'dist/plugins/vite.js')).href);
  const plugin = cti({ cacheDir });
  // Count what the plugin did, and the wall time during which at least one of its transforms is in
  // flight (Vite runs transforms concurrently, so other plugins' work can overlap: an upper bound
  // of the plugin's share): wrap the handler.
  const t = plugin.transform;
  const handler = typeof t === 'function' ? t : t.handler;
  const wrapped = async function (...args) {
    transforms++;
    if (inFlight++ === 0) busySince = performance.now();
    try {
      const r = await handler.apply(this, args);
      if (r) instrumented++;
      return r;
    } finally {
      if (--inFlight === 0) busyMs += performance.now() - busySince;
    }
  };
  plugin.transform = typeof t === 'function' ? wrapped : { ...t, handler: wrapped };
  plugins.push(plugin);
}
// Phases, for every configuration: module graph (load, transform, parse) and output (render,
// minify, write).
const phase = {};
const now = (k) => () => {
  phase[k] = performance.now();
};
plugins.push({ name: 'bench-phases', buildStart: now('buildStart'), buildEnd: now('buildEnd'), renderStart: now('renderStart'), closeBundle: now('closeBundle') });
const tImported = performance.now();
await build({
  root: appDir,
  configFile: false,
  logLevel: 'silent',
  mode: 'production',
  plugins,
  build: { outDir, emptyOutDir: true },
});
const t1 = performance.now();
// CPU time of this process since it started, all its threads (not esbuild's own process): less
// sensitive than wall time to other work on a shared machine.
const cpu = process.cpuUsage();
process.stdout.write(`${JSON.stringify({ mode, ms: t1 - t0, cpuMs: (cpu.user + cpu.system) / 1e3, importMs: tImported - t0, buildMs: t1 - tImported, transforms, instrumented, busyMs, graphMs: phase.buildEnd - phase.buildStart, outputMs: phase.closeBundle - phase.renderStart })}\n`);
