// Child process for tests/cache.test.ts: hammers one cache key with its own payload.
// argv: <dist cache.js URL> <cache dir> <key> <writer id> <iterations>
const [moduleUrl, dir, key, id, iterations] = process.argv.slice(2);
const { openCache } = await import(moduleUrl);
const cache = openCache({ dir, onWarning: (m) => { console.error(m); process.exitCode = 3; } });
// Big enough that a non-atomic write would be seen half-done by the reading parent.
const code = `writer ${id} `.padEnd(400_000, String.fromCharCode(97 + Number(id)));
for (let i = 0; i < Number(iterations); i++) {
  await cache.set(key, {
    code, map: null, diagnostics: [], stats: { functions: Number(id), variables: i, branches: 0, loops: 0 },
    instrumented: true, language: 'spy', validated: true, filename: `/writer/${id}.spy`,
  });
}
