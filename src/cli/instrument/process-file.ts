import { chmod, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createTwoFilesPatch } from 'diff';
import { instrumentCached, openCache, type InstrumentCache } from '../../core/cache.js';
import { composeSourceMaps, decodeDataUrl, sourceMappingUrl } from '../../core/source-maps.js';
import type { CtiConfig, Diagnostic, InstrumentResult, InstrumentStats, SourceMapV3 } from '../../core/types.js';
import type { ModuleType } from './module-type.js';
import { toPosix } from './paths.js';

/** One file to instrument; plain data so that it can cross into a worker thread. */
export interface FileTask {
  source: string;
  rel: string;
  output: string | null;
  root: string;
  config: CtiConfig;
  runtime: string;
  moduleType?: ModuleType;
  cacheDir: string | null;
  validate: boolean;
  dryRun: boolean;
  diff: boolean;
}

export interface FileOutcome {
  rel: string;
  /** 'unreadable': the source could not be read; 'unwritable': its output could not be written. */
  status: 'instrumented' | 'unchanged' | 'unreadable' | 'unwritable';
  cache: 'hit' | 'miss' | 'off';
  stats: InstrumentStats | null;
  diagnostics: Diagnostic[];
  /** Source map written (or, in a dry run, that would be written) next to the output. */
  mapOutput: string | null;
  diff?: string;
  error?: string;
  ms: { read: number; instrument: number; write: number };
  /** Cache warnings raised in this thread, for the main thread to print once. */
  warnings: string[];
}

// One cache per thread and directory: the "not writable" warning is then raised once per thread.
const caches = new Map<string, InstrumentCache>();
const pendingWarnings: string[] = [];

function cacheFor(task: FileTask): InstrumentCache | null {
  if (task.cacheDir === null) return null;
  const id = `${task.cacheDir}\0${task.dryRun}`;
  let cache = caches.get(id);
  if (!cache) {
    // A dry run writes nothing, not even cache entries.
    cache = openCache({ dir: task.cacheDir, readOnly: task.dryRun, onWarning: (m) => pendingWarnings.push(m) });
    caches.set(id, cache);
  }
  return cache;
}

/**
 * The input's own source map (tsc's, a bundler's), found through its last sourceMappingURL
 * comment: inline or a file beside it. Remote URLs are not fetched.
 */
async function readInputMap(code: string, source: string): Promise<{ map: SourceMapV3; dir: string } | null> {
  const url = sourceMappingUrl(code);
  if (url === null) return null;
  const inline = decodeDataUrl(url);
  if (inline) return { map: inline, dir: dirname(source) };
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return null;
  const file = resolve(dirname(source), decodeURIComponent(url));
  return { map: JSON.parse(await readFile(file, 'utf8')) as SourceMapV3, dir: dirname(file) };
}

/**
 * The written map points from the output file back to the input file, or, when the input has
 * a map of its own, through it to the input's sources (paths made relative to the output).
 */
function mapForOutput(map: SourceMapV3, task: FileTask, output: string, input: { map: SourceMapV3; dir: string } | null): SourceMapV3 {
  if (!input) {
    const sources = map.sources.length === 1 ? [toPosix(relative(dirname(output), task.source))] : map.sources;
    return { ...map, file: basename(output), sources };
  }
  const root = input.map.sourceRoot ?? '';
  const composed = composeSourceMaps({ ...map, sources: [basename(task.source)] }, { ...input.map, sourceRoot: undefined, sources: input.map.sources.map((s) => resolve(input.dir, root, s)) });
  return { ...composed, file: basename(output), sources: composed.sources.map((s) => toPosix(relative(dirname(output), resolve(input.dir, s)))) };
}

/**
 * The whole pipeline for one file: read, instrument (through the cache, with validation),
 * write the output and its map. The same function runs in-process (--jobs 1) and in the
 * worker threads, so both give identical trees.
 */
export async function processFile(task: FileTask): Promise<FileOutcome> {
  const outcome: FileOutcome = {
    rel: task.rel, status: 'unchanged', cache: task.cacheDir === null ? 'off' : 'miss', stats: null,
    diagnostics: [], mapOutput: null, ms: { read: 0, instrument: 0, write: 0 }, warnings: [],
  };
  let t = performance.now();
  let code: string;
  let mode: number;
  try {
    code = await readFile(task.source, 'utf8');
    mode = (await stat(task.source)).mode & 0o7777;
  } catch (e) {
    outcome.status = 'unreadable';
    outcome.error = (e as Error).message;
    return outcome;
  }
  outcome.ms.read = performance.now() - t;

  t = performance.now();
  let result: InstrumentResult;
  try {
    const cached = await instrumentCached(code, {
      filename: task.source, root: task.root, config: task.config, runtime: task.runtime, moduleType: task.moduleType, sourceMap: true,
    }, cacheFor(task), { validate: task.validate });
    if (cached.cacheHit) outcome.cache = 'hit';
    result = cached;
  } catch (e) {
    // An instrumenter bug must not stop the build: the file is copied as it is.
    result = {
      code, map: null, instrumented: false, language: null, stats: { functions: 0, variables: 0, branches: 0, loops: 0 },
      diagnostics: [{ file: task.source, line: 0, column: 0, severity: 'error', message: `instrumenter failed: ${(e as Error).message}` }],
    };
  }
  outcome.ms.instrument = performance.now() - t;
  outcome.warnings = pendingWarnings.splice(0);
  outcome.diagnostics = result.diagnostics;
  outcome.stats = result.stats;
  outcome.status = result.instrumented ? 'instrumented' : 'unchanged';

  let output = result.code;
  let map: SourceMapV3 | null = null;
  if (result.instrumented && result.map) {
    // Outputs keep their input's name, so the map's name is known even for a dry run without --out.
    if (task.output !== null) {
      outcome.mapOutput = `${task.output}.map`;
      let input: Awaited<ReturnType<typeof readInputMap>> = null;
      try {
        input = await readInputMap(code, task.source);
      } catch (e) {
        outcome.diagnostics = [...outcome.diagnostics, { file: task.source, line: 0, column: 0, severity: 'warning', message: `its source map cannot be read (${(e as Error).message}); the output maps to this file instead` }];
      }
      map = mapForOutput(result.map, task, task.output, input);
    }
    // Tools follow the last sourceMappingURL comment: ours must be it (an input's inline map would be stale).
    const ours = `${basename(task.source)}.map`;
    if (sourceMappingUrl(output) !== ours) {
      output += `${output.endsWith('\n') ? '' : '\n'}//# sourceMappingURL=${ours}\n`;
    }
  }
  if (task.diff && result.instrumented) {
    outcome.diff = createTwoFilesPatch(`a/${task.rel}`, `b/${task.rel}`, code, output);
  }
  if (task.dryRun || task.output === null) return outcome;

  await writeOutput(outcome, task.source, task.output, result.instrumented ? output : null, mode, map && outcome.mapOutput ? { path: outcome.mapOutput, map } : undefined);
  return outcome;
}

/**
 * Writes one file's output and times it: the instrumented text (and its map), else the source
 * copied byte for byte (re-encoding the decoded text could alter a BOM or invalid UTF-8). A
 * failure marks the outcome `unwritable`.
 */
export async function writeOutput(outcome: FileOutcome, source: string, output: string, text: string | null, mode: number, map?: { path: string; map: unknown }): Promise<void> {
  const t = performance.now();
  try {
    await mkdir(dirname(output), { recursive: true });
    if (text !== null) {
      await writeFile(output, text);
      await chmod(output, mode); // keep executables executable
      if (map) await writeFile(map.path, JSON.stringify(map.map));
    } else {
      await copyFile(source, output);
    }
  } catch (e) {
    outcome.status = 'unwritable';
    outcome.error = (e as Error).message;
  }
  outcome.ms.write = performance.now() - t;
}
