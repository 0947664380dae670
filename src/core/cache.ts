import { isAscii } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { mkdir, readdir, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import findCacheDirectory from 'find-cache-dir';
import { configHash, resolveConfig } from './config.js';
import { instrument, relativePath, RUNTIME_SPECIFIER } from './instrument.js';
import { languageFor } from './languages.js';
import type { Diagnostic, InstrumentOptions, InstrumentResult, InstrumentStats, LanguageInstrumenter, SourceMapV3 } from './types.js';
import { validateInstrumented } from './validate.js';
import { PACKAGE_VERSION } from './version.js';

/** Bumped when the entry layout changes; older entries then read as misses. */
export const CACHE_FORMAT = 2;
const CACHE_NAME = 'code-telemetry-injector';

/** Everything the instrumented output depends on. */
export interface CacheKeyParts {
  source: string;
  relativePath: string;
  language: string;
  languageVersion: string;
  packageVersion: string;
  configHash: string;
  runtime: string;
  moduleType: string;
  sourceMap: boolean;
}

/** What an entry holds: an InstrumentResult plus what is needed to reuse it safely. */
export interface CachedEntry {
  code: string;
  map: SourceMapV3 | null;
  diagnostics: Diagnostic[];
  stats: InstrumentStats;
  instrumented: boolean;
  language: string | null;
  /** The output was parsed again with check() before it was stored. */
  validated: boolean;
  /** The filename the entry was made for; a hit for another filename relabels diagnostics and map. */
  filename: string;
  /** The map's sourcesContent was the source itself and is not stored: a hit has the source in hand. */
  sourceOmitted?: boolean;
}

export interface CacheOptions {
  /** Where find-cache-dir starts looking for package.json (default: process.cwd()). */
  root?: string;
  /** Explicit directory; wins over CTI_CACHE_DIR and the default. */
  dir?: string;
  /** Look entries up but never write (dry runs). */
  readOnly?: boolean;
  /** Receives the single "cannot write" warning; default: one line on stderr. */
  onWarning?: (message: string) => void;
}

export interface InstrumentCache {
  readonly dir: string;
  readonly readOnly: boolean;
  /** `source` is the code the key was made from. */
  get(key: string): Promise<CachedEntry | null>;
  set(key: string, entry: CachedEntry): Promise<void>;
}

export interface CacheStats {
  dir: string;
  entries: number;
  bytes: number;
}

export interface CachedInstrumentResult extends InstrumentResult {
  cacheHit: boolean;
}

/** Explicit dir, then CTI_CACHE_DIR, then node_modules/.cache next to the root's package.json, then the temp dir. */
export function resolveCacheDir(options: { root?: string; dir?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const env = options.env ?? process.env;
  if (options.dir) return resolve(options.dir);
  if (env.CTI_CACHE_DIR) return resolve(env.CTI_CACHE_DIR);
  let found: string | undefined;
  try {
    found = findCacheDirectory({ name: CACHE_NAME, cwd: resolve(options.root ?? process.cwd()) });
  } catch {
    found = undefined;
  }
  return found ?? join(tmpdir(), `${CACHE_NAME}-cache`);
}

/** sha256 over length-prefixed fields, so no two different part lists can produce the same input. */
export function cacheKey(parts: CacheKeyParts): string {
  let input = `cti-cache-key/${CACHE_FORMAT}\0`;
  for (const [name, value] of [
    ['source', parts.source],
    ['relativePath', parts.relativePath],
    ['language', parts.language],
    ['languageVersion', parts.languageVersion],
    ['packageVersion', parts.packageVersion],
    ['configHash', parts.configHash],
    ['runtime', parts.runtime],
    ['moduleType', parts.moduleType],
    ['sourceMap', String(parts.sourceMap)],
  ]) {
    // Lengths in UTF-16 units: the field boundaries are as unambiguous as with byte lengths.
    input += `${name}\0${value.length}\0${value}`;
  }
  return createHash('sha256').update(input).digest('hex');
}

const configHashes = new WeakMap<object, string>();
const DEFAULT_HASH = configHash(resolveConfig({}));

/** Hosts pass the same config object for every file: hash it once. */
function hashOfConfig(config: InstrumentOptions['config']): string {
  if (!config) return DEFAULT_HASH;
  let h = configHashes.get(config);
  if (h === undefined) configHashes.set(config, (h = configHash(resolveConfig(config))));
  return h;
}

/** The key parts for instrumenting `code` with `options` (as `instrument()` would resolve them). */
export function cacheKeyParts(code: string, options: InstrumentOptions, lang: LanguageInstrumenter): CacheKeyParts {
  return {
    source: code,
    relativePath: relativePath(options.filename, options.root),
    language: lang.language,
    languageVersion: lang.version,
    packageVersion: PACKAGE_VERSION,
    configHash: hashOfConfig(options.config),
    runtime: options.runtime ?? RUNTIME_SPECIFIER,
    moduleType: options.moduleType ?? 'auto',
    sourceMap: options.sourceMap ?? true,
  };
}

// Layout: one header line of JSON, then the instrumented code and the map's mappings, raw, so
// a hit decodes two strings by length instead of JSON-parsing them (the slowest part of a hit):
//   cti-cache/<format> <crc32 of the rest, hex>\n
//   {"key":…,"codeBytes":…,"mappingsBytes":…,"map":<the map without mappings, or null>,"meta":{…}}\n
//   <code><mappings>
// The header line holds no code, so `head -2` shows what an entry is.
const MAGIC = `cti-cache/${CACHE_FORMAT} `;

interface EntryHeader {
  key: string;
  codeBytes: number;
  mappingsBytes: number;
  map: Omit<SourceMapV3, 'mappings'> | null;
  meta: Omit<CachedEntry, 'code' | 'map'>;
}

export function encodeEntry(key: string, entry: CachedEntry): Buffer {
  const { code, map, ...meta } = entry;
  const { mappings = '', ...mapRest } = map ?? {};
  const codeBuf = Buffer.from(code, 'utf8');
  const mappingsBuf = Buffer.from(mappings, 'utf8');
  const header: EntryHeader = { key, codeBytes: codeBuf.length, mappingsBytes: mappingsBuf.length, map: map ? (mapRest as EntryHeader['map']) : null, meta };
  const rest = Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), codeBuf, mappingsBuf]);
  return Buffer.concat([Buffer.from(`${MAGIC}${crc32(rest).toString(16)}\n`), rest]);
}

/** UTF-8 decoding validates every byte; most code is ASCII, which latin1 copies as it is (3x faster). */
function text(data: Buffer, start: number, end: number): string {
  const part = data.subarray(start, end);
  return isAscii(part) ? part.toString('latin1') : part.toString('utf8');
}

/** Returns the entry only when every check passes; anything else (truncated, foreign, stale format, wrong key, flipped bits) is null. */
export function decodeEntry(data: Buffer, key: string): CachedEntry | null {
  const firstLine = data.indexOf(0x0a);
  if (firstLine < 0 || data.toString('latin1', 0, MAGIC.length) !== MAGIC) return null;
  const rest = data.subarray(firstLine + 1);
  if (data.toString('latin1', MAGIC.length, firstLine) !== crc32(rest).toString(16)) return null;
  const headerEnd = rest.indexOf(0x0a);
  let header: EntryHeader;
  try {
    header = JSON.parse(rest.toString('utf8', 0, headerEnd)) as EntryHeader;
  } catch {
    return null;
  }
  const codeAt = headerEnd + 1;
  const mappingsAt = codeAt + header?.codeBytes;
  if (header?.key !== key || mappingsAt + header.mappingsBytes !== rest.length || typeof header.map !== 'object') return null;
  const map = header.map && ({ ...header.map, mappings: text(rest, mappingsAt, rest.length) } as SourceMapV3);
  const entry = { ...header.meta, code: text(rest, codeAt, mappingsAt), map };
  return isCachedEntry(entry) ? entry : null;
}

function isCachedEntry(v: unknown): v is CachedEntry {
  const e = v as CachedEntry;
  return typeof e === 'object' && e !== null
    && typeof e.code === 'string'
    && (e.map === null || typeof e.map === 'object')
    && Array.isArray(e.diagnostics)
    && typeof e.stats === 'object' && e.stats !== null
    && typeof e.instrumented === 'boolean'
    && (e.language === null || typeof e.language === 'string')
    && typeof e.validated === 'boolean'
    && typeof e.filename === 'string';
}

const KEY_PATTERN = /^[0-9a-f]{64}$/;
const ENTRY_FILE = /^[0-9a-f]{64}\.json$/;
const TEMP_FILE = /^[0-9a-f]{64}\.json\.[^/\\]+\.tmp$/;
const SHARD_DIR = /^[0-9a-f]{2}$/;

class DiskCache implements InstrumentCache {
  readonly dir: string;
  readonly readOnly: boolean;
  private writable = true;
  private readonly warn: (message: string) => void;

  constructor(options: CacheOptions) {
    this.dir = resolveCacheDir(options);
    this.readOnly = options.readOnly ?? false;
    this.warn = options.onWarning ?? ((m) => process.stderr.write(`cti: warning: ${m}\n`));
  }

  private entryPath(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new Error(`not a cache key: ${key}`);
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  async get(key: string): Promise<CachedEntry | null> {
    let data: Buffer;
    try {
      // Synchronous on purpose: an entry is small, and a thread-pool round trip costs more than the read.
      data = readFileSync(this.entryPath(key));
    } catch {
      return null;
    }
    return decodeEntry(data, key);
  }

  /**
   * Writes a unique temp file beside the entry, then renames it over the entry: rename is
   * atomic, so readers and concurrent writers see a whole old entry or a whole new one.
   * No fsync: an entry emptied by a power cut fails its checksum and is just a miss.
   */
  async set(key: string, entry: CachedEntry): Promise<void> {
    if (this.readOnly || !this.writable) return;
    const file = this.entryPath(key);
    const temp = `${file}.${process.pid}-${threadId}-${randomBytes(6).toString('hex')}.tmp`;
    let step: 'write' | 'rename' = 'write';
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(temp, encodeEntry(key, entry), { flag: 'wx' });
      step = 'rename';
      await rename(temp, file);
    } catch (e) {
      await unlink(temp).catch(() => {});
      // A lost race (Windows refuses to replace an open file; a concurrent clear removed the
      // temp file) leaves the cache usable: only a failure to write at all disables it.
      if (step === 'rename') return;
      this.writable = false;
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      this.warn(`cache directory ${this.dir} is not writable (${code}); continuing without caching`);
    }
  }
}

export function openCache(options: CacheOptions = {}): InstrumentCache {
  return new DiskCache(options);
}

async function listShards(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory() && SHARD_DIR.test(d.name)).map((d) => join(dir, d.name));
  } catch {
    return [];
  }
}

export async function cacheStats(dir: string): Promise<CacheStats> {
  const stats: CacheStats = { dir: resolve(dir), entries: 0, bytes: 0 };
  for (const shard of await listShards(stats.dir)) {
    for (const name of await readdir(shard).catch(() => [] as string[])) {
      if (!ENTRY_FILE.test(name)) continue;
      const info = await stat(join(shard, name)).catch(() => null);
      if (!info?.isFile()) continue;
      stats.entries++;
      stats.bytes += info.size;
    }
  }
  return stats;
}

/**
 * Deletes entries and leftover temp files, and shard directories left empty. Only names the
 * cache itself creates are touched, so a mistaken --cache-dir cannot wipe unrelated files.
 */
export async function clearCache(dir: string): Promise<{ dir: string; removed: number; bytes: number }> {
  const root = resolve(dir);
  let removed = 0;
  let bytes = 0;
  for (const shard of await listShards(root)) {
    for (const name of await readdir(shard).catch(() => [] as string[])) {
      const isEntry = ENTRY_FILE.test(name);
      if (!isEntry && !TEMP_FILE.test(name)) continue;
      const file = join(shard, name);
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) continue;
      try {
        await unlink(file);
      } catch {
        continue;
      }
      if (isEntry) {
        removed++;
        bytes += info.size;
      }
    }
    await rmdir(shard).catch(() => {});
  }
  return { dir: root, removed, bytes };
}

/** A stored entry made for another filename names that file in its diagnostics and map: rename them. */
function relabel(entry: CachedEntry, filename: string): InstrumentResult {
  const rename = (f: string) => (f === entry.filename ? filename : f);
  const same = entry.filename === filename;
  return {
    code: entry.code,
    map: !entry.map || same ? entry.map : { ...entry.map, file: entry.map.file && rename(entry.map.file), sources: entry.map.sources.map(rename) },
    diagnostics: same ? entry.diagnostics : entry.diagnostics.map((d) => ({ ...d, file: rename(d.file) })),
    stats: entry.stats,
    instrumented: entry.instrumented,
    language: entry.language,
  };
}

export interface InstrumentCachedOptions {
  /** Parse the output again with the language's check() (see validateInstrumented); the verdict is cached too. */
  validate?: boolean;
}

/**
 * `instrument()` behind the cache. Every result is stored, pass-through ones included, so
 * a file that fails to parse is not parsed again until it (or the key) changes; only a
 * thrown error is not stored. A hit parses no source code.
 */
export async function instrumentCached(
  code: string,
  options: InstrumentOptions,
  cache: InstrumentCache | null,
  { validate = false }: InstrumentCachedOptions = {},
): Promise<CachedInstrumentResult> {
  const lang = languageFor(options.filename);
  const checked = async (r: InstrumentResult) => (validate && lang ? validateInstrumented(code, r, options.filename, lang) : r);
  // Unsupported files come back unchanged without parsing: nothing worth caching.
  if (!cache || !lang) return { ...(await checked(await instrument(code, options))), cacheHit: false };

  const key = cacheKey(cacheKeyParts(code, options, lang));
  const stored = await cache.get(key);
  const hit = stored && withSource(stored, code);
  if (hit && (hit.validated || !validate)) return { ...relabel(hit, options.filename), cacheHit: true };

  // A hit stored without validation only needs the check, not a new instrumentation.
  const result = await checked(hit ? relabel(hit, options.filename) : await instrument(code, options));
  await cache.set(key, withoutSource({ ...pickResult(result), validated: validate, filename: options.filename }, code));
  return { ...pickResult(result), cacheHit: hit !== null };
}

/** The map usually embeds the whole source: leave it out of the entry (it is half the bytes). */
function withoutSource(entry: CachedEntry, source: string): CachedEntry {
  const content = entry.map?.sourcesContent;
  if (!entry.map || content?.length !== 1 || content[0] !== source) return entry;
  return { ...entry, map: { ...entry.map, sourcesContent: undefined }, sourceOmitted: true };
}

function withSource(entry: CachedEntry, source: string): CachedEntry {
  if (!entry.sourceOmitted || !entry.map) return entry;
  const { sourceOmitted: _, ...rest } = entry;
  return { ...rest, map: { ...entry.map, sourcesContent: [source] } };
}

function pickResult(r: InstrumentResult): InstrumentResult {
  return { code: r.code, map: r.map, diagnostics: r.diagnostics, stats: r.stats, instrumented: r.instrumented, language: r.language };
}
