import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CACHE_FORMAT, cacheKey, cacheKeyParts, cacheStats, clearCache, decodeEntry, encodeEntry, instrumentCached, openCache, resolveCacheDir,
  type CachedEntry, type CacheKeyParts,
} from '../src/core/cache.js';
import { LANGUAGES } from '../src/core/languages.js';
import type { InstrumentContext, InstrumentOptions, InstrumentResult, LanguageInstrumenter } from '../src/core/types.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const TMP = join(REPO, 'tests/.tmp');

/**
 * A language whose every parse is counted: proves what the cache saves. Its output embeds
 * what the key must depend on, so a wrong hit would show in the code.
 */
const calls = { instrument: 0, check: 0 };
const spy: LanguageInstrumenter = {
  language: 'spy',
  version: '1',
  extensions: ['.spy'],
  instrument(code: string, ctx: InstrumentContext): InstrumentResult {
    calls.instrument++;
    if (code.includes('THROW')) throw new Error('spy instrumenter crashed');
    const stats = { functions: 1, variables: 2, branches: 3, loops: ctx.config.capture.loops ? 4 : 0 };
    if (code.includes('SYNTAX ERROR')) {
      return {
        code, map: null, instrumented: false, language: 'spy', stats: { functions: 0, variables: 0, branches: 0, loops: 0 },
        diagnostics: [{ file: ctx.filename, line: 1, column: 7, severity: 'error', message: 'Unexpected token' }],
      };
    }
    return {
      code: `/*spy ${ctx.relativePath} ${ctx.runtime} ${ctx.moduleType} loops=${ctx.config.capture.loops}*/${code}`,
      map: { version: 3, file: ctx.filename, sources: [ctx.filename], names: [], mappings: 'AAAA' },
      instrumented: true,
      language: 'spy',
      stats,
      diagnostics: [{ file: ctx.filename, line: 1, column: 0, severity: 'info', message: 'spied' }],
    };
  },
  check(code: string, filename: string) {
    calls.check++;
    return code.includes('BROKEN') ? { file: filename, line: 2, column: 3, severity: 'error', message: 'output broken' } : null;
  },
};

let dir: string;
let root: string;
let counter = 0;

beforeAll(() => {
  LANGUAGES.push(spy);
});
afterAll(() => {
  LANGUAGES.splice(LANGUAGES.indexOf(spy), 1);
});
beforeEach(() => {
  counter++;
  root = join(TMP, `cache-${process.pid}-${counter}`);
  rmSync(root, { recursive: true, force: true });
  dir = join(root, 'cache');
  mkdirSync(root, { recursive: true });
  calls.instrument = 0;
  calls.check = 0;
  spy.version = '1';
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const opts = (name = 'src/a.spy', extra: Partial<InstrumentOptions> = {}): InstrumentOptions => ({ filename: join(root, name), root, ...extra });
const entryFile = (code: string, options: InstrumentOptions) => {
  const key = cacheKey(cacheKeyParts(code, options, spy));
  return { key, file: join(dir, key.slice(0, 2), `${key}.json`) };
};
const withoutHit = ({ cacheHit: _, ...rest }: { cacheHit: boolean } & InstrumentResult) => rest;

describe('hit and miss', () => {
  it('stores on a miss and returns the same result on a hit without calling the instrumenter', async () => {
    const cache = openCache({ dir });
    const first = await instrumentCached('let x = 1', opts(), cache);
    expect(first.cacheHit).toBe(false);
    expect(first.instrumented).toBe(true);
    expect(calls.instrument).toBe(1);
    const second = await instrumentCached('let x = 1', opts(), cache);
    expect(second.cacheHit).toBe(true);
    expect(calls.instrument).toBe(1);
    expect(withoutHit(second)).toEqual(withoutHit(first));
  });

  it('a hit parses nothing: neither instrument() nor the validating check() runs', async () => {
    const cache = openCache({ dir });
    await instrumentCached('let x = 1', opts(), cache, { validate: true });
    expect(calls).toEqual({ instrument: 1, check: 1 });
    // A fresh cache object (as in a new process) reads the entry from disk.
    const hit = await instrumentCached('let x = 1', opts(), openCache({ dir }), { validate: true });
    expect(hit.cacheHit).toBe(true);
    expect(calls).toEqual({ instrument: 1, check: 1 });
  });

  it('an entry stored without validation is checked once when validation is asked for, then reused', async () => {
    const cache = openCache({ dir });
    await instrumentCached('let x = 1', opts(), cache);
    expect(calls).toEqual({ instrument: 1, check: 0 });
    const checked = await instrumentCached('let x = 1', opts(), cache, { validate: true });
    expect(checked.cacheHit).toBe(true);
    expect(calls).toEqual({ instrument: 1, check: 1 });
    await instrumentCached('let x = 1', opts(), cache, { validate: true });
    expect(calls).toEqual({ instrument: 1, check: 1 });
  });

  it('output that fails validation is replaced by the original with an error, and that verdict is cached', async () => {
    const cache = openCache({ dir });
    const result = await instrumentCached('BROKEN', opts(), cache, { validate: true });
    expect(result.code).toBe('BROKEN');
    expect(result.instrumented).toBe(false);
    expect(result.map).toBeNull();
    expect(result.diagnostics.at(-1)).toMatchObject({ severity: 'error', line: 2, column: 3 });
    expect(result.diagnostics.at(-1)?.message).toMatch(/does not parse.*output broken/);
    const again = await instrumentCached('BROKEN', opts(), cache, { validate: true });
    expect(again.cacheHit).toBe(true);
    expect(withoutHit(again)).toEqual(withoutHit(result));
    expect(calls).toEqual({ instrument: 1, check: 1 });
  });

  it('pass-through results with diagnostics are cached, so a file that failed to parse is not parsed again', async () => {
    const cache = openCache({ dir });
    const first = await instrumentCached('SYNTAX ERROR', opts(), cache);
    expect(first.instrumented).toBe(false);
    expect(first.diagnostics[0]).toMatchObject({ severity: 'error', message: 'Unexpected token' });
    const second = await instrumentCached('SYNTAX ERROR', opts(), cache);
    expect(second.cacheHit).toBe(true);
    expect(second.diagnostics).toEqual(first.diagnostics);
    expect(calls.instrument).toBe(1);
  });

  it('a thrown error is not cached', async () => {
    const cache = openCache({ dir });
    await expect(instrumentCached('THROW', opts(), cache)).rejects.toThrow('spy instrumenter crashed');
    await expect(instrumentCached('THROW', opts(), cache)).rejects.toThrow('spy instrumenter crashed');
    expect(calls.instrument).toBe(2);
    expect((await cacheStats(dir)).entries).toBe(0);
  });

  it('without a cache (null) every call instruments', async () => {
    await instrumentCached('let x = 1', opts(), null);
    const again = await instrumentCached('let x = 1', opts(), null);
    expect(again.cacheHit).toBe(false);
    expect(calls.instrument).toBe(2);
  });

  it('an entry is reused for the same relative path under another root, with diagnostics and map naming the new file', async () => {
    const cache = openCache({ dir });
    await instrumentCached('let x = 1', opts(), cache);
    const otherRoot = join(root, 'moved');
    const moved = await instrumentCached('let x = 1', { filename: join(otherRoot, 'src/a.spy'), root: otherRoot }, cache);
    expect(moved.cacheHit).toBe(true);
    expect(moved.diagnostics[0].file).toBe(join(otherRoot, 'src/a.spy'));
    expect(moved.map?.sources).toEqual([join(otherRoot, 'src/a.spy')]);
  });
});

describe('key sensitivity', () => {
  const base: CacheKeyParts = {
    source: 'let x = 1', relativePath: 'src/a.spy', language: 'spy', languageVersion: '1', packageVersion: '0.1.0',
    configHash: 'abc', runtime: 'code-telemetry-injector/runtime', moduleType: 'auto', sourceMap: true,
  };

  it('every part changes the key, and field boundaries cannot be shifted', () => {
    const keys = new Set([cacheKey(base)]);
    const changes: Partial<CacheKeyParts>[] = [
      { source: 'let x = 2' }, { relativePath: 'src/b.spy' }, { language: 'other' }, { languageVersion: '2' },
      { packageVersion: '0.2.0' }, { configHash: 'abd' }, { runtime: './rt.js' }, { moduleType: 'esm' }, { sourceMap: false },
      // Moving characters from one field into the next must not collide.
      { source: 'let x = 1src/a.spy', relativePath: '' },
    ];
    for (const change of changes) keys.add(cacheKey({ ...base, ...change }));
    expect(keys.size).toBe(changes.length + 1);
    expect(cacheKey(base)).toBe(cacheKey({ ...base }));
    expect(cacheKey(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('instrumentCached misses when the source, path, config, instrumenter version, runtime or module type change', async () => {
    const cache = openCache({ dir });
    const run = async (code: string, options: InstrumentOptions) => (await instrumentCached(code, options, cache)).cacheHit;
    expect(await run('a', opts())).toBe(false);
    expect(await run('a', opts())).toBe(true);
    expect(await run('b', opts())).toBe(false);
    expect(await run('a', opts('src/other.spy'))).toBe(false);
    expect(await run('a', opts('src/a.spy', { config: { capture: { loops: false } } }))).toBe(false);
    expect(await run('a', opts('src/a.spy', { runtime: './my-runtime.js' }))).toBe(false);
    expect(await run('a', opts('src/a.spy', { moduleType: 'cjs' }))).toBe(false);
    spy.version = '2';
    expect(await run('a', opts())).toBe(false);
    expect(await run('a', opts())).toBe(true);
    // include/exclude pick files; they do not change a file's output.
    expect(await run('a', opts('src/a.spy', { config: { include: ['**/*.spy'] } }))).toBe(true);
    expect(calls.instrument).toBe(7);
  });

  it('the key covers the package version', () => {
    const parts = cacheKeyParts('a', opts(), spy);
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(parts.packageVersion).toBe(pkg.version);
    expect(parts.relativePath).toBe('src/a.spy');
  });
});

describe('damaged entries are misses, then overwritten', () => {
  const damage: Record<string, (bytes: Buffer, key: string, otherEntry: Buffer) => Buffer | string> = {
    truncated: (b) => b.subarray(0, Math.floor(b.length / 2)),
    'cut by one byte': (b) => b.subarray(0, b.length - 1),
    empty: () => '',
    'flipped payload byte': (b) => {
      const copy = Buffer.from(b);
      copy[copy.length - 10] ^= 0x01;
      return copy;
    },
    'not JSON': () => '\u0000\u0001garbage',
    'foreign JSON': () => '{"hello":"world"}',
    'entry of another key': (_b, _k, other) => other,
    'unknown format version': (b) => Buffer.from(b.toString('utf8').replace(`cti-cache/${CACHE_FORMAT} `, 'cti-cache/999 ')),
    'valid checksum, wrong shape': (_b, key) => encodeEntry(key, { code: 'x', map: null, diagnostics: 'none' } as unknown as CachedEntry),
  };

  for (const [name, corrupt] of Object.entries(damage)) {
    it(name, async () => {
      const cache = openCache({ dir });
      const good = await instrumentCached('let x = 1', opts(), cache);
      await instrumentCached('other', opts(), cache);
      const { key, file } = entryFile('let x = 1', opts());
      const other = readFileSync(entryFile('other', opts()).file);
      writeFileSync(file, corrupt(readFileSync(file), key, other));

      expect(await cache.get(key)).toBeNull();
      const again = await instrumentCached('let x = 1', opts(), cache);
      expect(again.cacheHit).toBe(false);
      expect(withoutHit(again)).toEqual(withoutHit(good));
      expect(calls.instrument).toBe(3);
      // Overwritten with a good entry.
      expect(decodeEntry(readFileSync(file), key)).not.toBeNull();
      expect((await instrumentCached('let x = 1', opts(), cache)).cacheHit).toBe(true);
    });
  }

  it('a directory in place of an entry is a miss, not a crash', async () => {
    const cache = openCache({ dir });
    const { key, file } = entryFile('let x = 1', opts());
    mkdirSync(file, { recursive: true });
    expect(await cache.get(key)).toBeNull();
    const result = await instrumentCached('let x = 1', opts(), cache);
    expect(result.instrumented).toBe(true);
  });
});

describe('writes', () => {
  it('leave no temp files behind and write a readable header line per entry', async () => {
    const cache = openCache({ dir });
    await instrumentCached('let x = 1', opts(), cache);
    const { file, key } = entryFile('let x = 1', opts());
    const names = readdirSync(join(file, '..'));
    expect(names).toEqual([file.split('/').at(-1)]);
    const [magic, header] = readFileSync(file, 'utf8').split('\n');
    expect(magic).toMatch(new RegExp(`^cti-cache/${CACHE_FORMAT} [0-9a-f]+$`));
    expect(JSON.parse(header)).toMatchObject({ key, meta: { instrumented: true, language: 'spy', validated: false } });
  });

  it('keep the source out of the entry and put it back in the map on a hit', async () => {
    const source = 'export function y(a) { return a + 1 }';
    const real = await instrumentCached(source, { filename: join(root, 'src/y.js'), root }, openCache({ dir }));
    expect(real.map?.sourcesContent).toEqual([source]);
    const hit = await instrumentCached(source, { filename: join(root, 'src/y.js'), root }, openCache({ dir }));
    expect(hit.cacheHit).toBe(true);
    expect(hit.map).toEqual(real.map);
    const key = cacheKey(cacheKeyParts(source, { filename: join(root, 'src/y.js'), root }, LANGUAGES[0]));
    expect(readFileSync(join(dir, key.slice(0, 2), `${key}.json`), 'utf8')).not.toContain('sourcesContent');
  });

  it('concurrent writers in several processes never leave a torn entry', async () => {
    const key = 'ab'.repeat(32);
    const file = join(dir, 'ab', `${key}.json`);
    const moduleUrl = pathToFileURL(join(REPO, 'dist/core/cache.js')).href;
    const writer = join(REPO, 'tests/helpers/cache-writer.mjs');
    const children = [0, 1, 2, 3].map((id) => new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [writer, moduleUrl, dir, key, String(id), '40'], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('error', reject);
      child.on('exit', resolve);
    }));
    let running = true;
    const allDone = Promise.all(children).finally(() => { running = false; });
    let seen = 0;
    const writersSeen = new Set<number>();
    // Read the raw file while the writers run: every version observed must be a whole entry.
    while (running) {
      let bytes: Buffer | null = null;
      try {
        bytes = readFileSync(file);
      } catch (e) {
        expect((e as NodeJS.ErrnoException).code).toBe('ENOENT');
      }
      if (bytes) {
        const entry = decodeEntry(bytes, key);
        expect(entry, `torn entry of ${bytes.length} bytes`).not.toBeNull();
        expect(entry!.code).toHaveLength(400_000);
        expect(entry!.code.startsWith(`writer ${entry!.stats.functions} `)).toBe(true);
        writersSeen.add(entry!.stats.functions);
        seen++;
      }
      await new Promise((r) => setImmediate(r));
    }
    expect(await allDone).toEqual([0, 0, 0, 0]);
    expect(seen).toBeGreaterThan(0);
    expect(decodeEntry(readFileSync(file), key)).not.toBeNull();
    expect(readdirSync(join(dir, 'ab'))).toEqual([`${key}.json`]);
    expect((await cacheStats(dir)).entries).toBe(1);
  });
});

describe('unwritable cache directories', () => {
  it('a path that cannot be a directory makes the cache a no-op with a single warning', async () => {
    writeFileSync(join(root, 'plain-file'), 'not a directory');
    const warnings: string[] = [];
    const cache = openCache({ dir: join(root, 'plain-file', 'cache'), onWarning: (m) => warnings.push(m) });
    for (const code of ['a', 'b', 'c', 'a']) {
      const result = await instrumentCached(code, opts(), cache);
      expect(result.instrumented).toBe(true);
      expect(result.cacheHit).toBe(false);
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/not writable/);
    expect(calls.instrument).toBe(4);
  });

  it.skipIf(process.getuid?.() === 0)('a read-only directory makes the cache a no-op with a single warning', async () => {
    mkdirSync(dir);
    chmodSync(dir, 0o555);
    try {
      const warnings: string[] = [];
      const cache = openCache({ dir, onWarning: (m) => warnings.push(m) });
      for (const code of ['a', 'b', 'a']) expect((await instrumentCached(code, opts(), cache)).instrumented).toBe(true);
      expect(warnings).toHaveLength(1);
    } finally {
      chmodSync(dir, 0o755);
    }
  });

  it('a read-only cache (dry runs) reads entries but writes none', async () => {
    await instrumentCached('a', opts(), openCache({ dir }));
    const readOnly = openCache({ dir, readOnly: true });
    expect((await instrumentCached('a', opts(), readOnly)).cacheHit).toBe(true);
    expect((await instrumentCached('b', opts(), readOnly)).cacheHit).toBe(false);
    expect((await cacheStats(dir)).entries).toBe(1);
  });
});

describe('stats and clear', () => {
  it('count entries and bytes; clear removes only cache files', async () => {
    const cache = openCache({ dir });
    for (const code of ['a', 'b', 'c']) await instrumentCached(code, opts(), cache);
    const stats = await cacheStats(dir);
    const files = ['a', 'b', 'c'].map((c) => entryFile(c, opts()).file);
    expect(stats).toEqual({ dir, entries: 3, bytes: files.reduce((n, f) => n + statSync(f).size, 0) });

    // Files the cache did not create survive a clear (protects a mistaken --cache-dir).
    writeFileSync(join(dir, 'notes.txt'), 'keep me');
    mkdirSync(join(dir, 'zz'), { recursive: true });
    writeFileSync(join(dir, 'zz', 'readme.txt'), 'keep me too');
    const stale = `${files[0]}.12345-0-abcdef.tmp`;
    writeFileSync(stale, 'half a write');

    const cleared = await clearCache(dir);
    expect(cleared).toEqual({ dir, removed: 3, bytes: stats.bytes });
    expect(existsSync(stale)).toBe(false);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('keep me');
    expect(readFileSync(join(dir, 'zz', 'readme.txt'), 'utf8')).toBe('keep me too');
    expect(await cacheStats(dir)).toEqual({ dir, entries: 0, bytes: 0 });
    expect((await instrumentCached('a', opts(), cache)).cacheHit).toBe(false);
  });

  it('a missing directory has no entries and clears to nothing', async () => {
    expect(await cacheStats(join(root, 'nowhere'))).toEqual({ dir: join(root, 'nowhere'), entries: 0, bytes: 0 });
    expect((await clearCache(join(root, 'nowhere'))).removed).toBe(0);
  });
});

describe('cache directory', () => {
  it('explicit dir, then CTI_CACHE_DIR, then node_modules/.cache near package.json, then the temp dir', () => {
    writeFileSync(join(root, 'package.json'), '{}');
    mkdirSync(join(root, 'node_modules'));
    const env = { CTI_CACHE_DIR: join(root, 'env-cache') };
    expect(resolveCacheDir({ dir: join(root, 'explicit'), root, env })).toBe(join(root, 'explicit'));
    expect(resolveCacheDir({ root, env })).toBe(join(root, 'env-cache'));
    expect(resolveCacheDir({ root, env: {} })).toBe(join(root, 'node_modules/.cache/code-telemetry-injector'));
  });

  it.skipIf(existsSync('/package.json') || existsSync(join(tmpdir(), 'package.json')) || Boolean(process.env.CACHE_DIR))('falls back to the temp dir when no package.json is found', () => {
    const outside = join(tmpdir(), `cti-no-package-${process.pid}`);
    mkdirSync(outside, { recursive: true });
    try {
      expect(resolveCacheDir({ root: outside, env: {} })).toBe(join(tmpdir(), 'code-telemetry-injector-cache'));
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
