import { chmod, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createTwoFilesPatch } from 'diff';
import { instrumentCached, openCache, type InstrumentCache } from '../../core/cache.js';
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

const SOURCE_MAPPING_URL = /^\s*\/[/*][#@]\s*sourceMappingURL=/m;

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

/** The written map points from the output file back to the input file. */
function mapForOutput(map: SourceMapV3, task: FileTask, output: string): SourceMapV3 {
  const sources = map.sources.length === 1 ? [toPosix(relative(dirname(output), task.source))] : map.sources;
  return { ...map, file: basename(output), sources };
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
      map = mapForOutput(result.map, task, task.output);
    }
    // The instrumenter may already link a map (e.g. inline); a second comment would confuse tools.
    if (!SOURCE_MAPPING_URL.test(output)) {
      output += `${output.endsWith('\n') ? '' : '\n'}//# sourceMappingURL=${basename(task.source)}.map\n`;
    }
  }
  if (task.diff && result.instrumented) {
    outcome.diff = createTwoFilesPatch(`a/${task.rel}`, `b/${task.rel}`, code, output);
  }
  if (task.dryRun || task.output === null) return outcome;

  t = performance.now();
  try {
    await mkdir(dirname(task.output), { recursive: true });
    if (result.instrumented) {
      await writeFile(task.output, output);
      await chmod(task.output, mode); // keep executables executable
      if (map && outcome.mapOutput) await writeFile(outcome.mapOutput, JSON.stringify(map));
    } else {
      // Byte for byte: re-encoding the decoded text could alter a BOM or invalid UTF-8.
      await copyFile(task.source, task.output);
    }
  } catch (e) {
    outcome.status = 'unwritable';
    outcome.error = (e as Error).message;
  }
  outcome.ms.write = performance.now() - t;
  return outcome;
}
