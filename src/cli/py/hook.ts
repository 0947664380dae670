/**
 * `cti py hook`: writes the stdlib-only boot directory (src/py-import-hook/*.py + cti_boot.json)
 * and instruments every project .py file into its cache, in parallel.
 */
import { existsSync, realpathSync } from 'node:fs';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import Tinypool from 'tinypool';
import { configHash, loadConfig } from '../../core/config.js';
import { pyInstrumenter } from '../../core/python/index.js';
import { PACKAGE_VERSION } from '../../core/version.js';
import type { CliIo } from '../context.js';
import { CliError } from '../context.js';
import { createProgress } from '../instrument/progress.js';
import { processPyFile, type PyFileOutcome, type PyFileTask } from './file.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HOOK_SOURCES = join(PACKAGE_ROOT, 'src', 'py-import-hook');
const HOOK_FILES = ['sitecustomize.py', '_cti_hook.py', '_cti_rt.py', '_cti_sdk.py'];
const WORKER_FILE = fileURLToPath(new URL('./worker.js', import.meta.url));
/** Below this many files, starting worker threads (each loads the grammar) costs more than it saves. */
const MIN_FILES_PER_THREAD = 40;

/** Directories never searched: virtualenvs are also recognised by their pyvenv.cfg. */
const SKIP_DIRS = new Set(['site-packages', 'dist-packages', 'node_modules', '__pycache__', '__pypackages__', 'venv']);

export interface PyHookOptions {
  out: string;
  root?: string;
  cacheOnly: boolean;
  jobs?: number;
  quiet: boolean;
}

async function pythonFiles(root: string, out: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string) => {
    const entries = await readdir(dir, { withFileTypes: true });
    if (dir !== root && entries.some((e) => e.name === 'pyvenv.cfg')) return;
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name.startsWith('.') || SKIP_DIRS.has(e.name) || path === out) continue;
        await walk(path);
      } else if (e.isFile() && e.name.endsWith('.py')) {
        files.push(path);
      }
    }
  };
  await walk(root);
  return files.sort();
}

export async function runPyHook(opts: PyHookOptions, io: CliIo): Promise<number> {
  const started = performance.now();
  const rootArg = resolve(io.cwd, opts.root ?? '.');
  if (!existsSync(rootArg)) throw new CliError(`--root ${rootArg} does not exist`);
  const root = realpathSync(rootArg);
  await mkdir(resolve(io.cwd, opts.out), { recursive: true });
  const out = realpathSync(resolve(io.cwd, opts.out));
  if (root === out || root.startsWith(out + sep)) throw new CliError('--out must not contain the project root');
  const cache = join(out, 'cache');
  const config = loadConfig(root);
  const salt = `cti-py/${pyInstrumenter.version}/${PACKAGE_VERSION}/${configHash(config)}`;
  if (!opts.cacheOnly) {
    for (const f of HOOK_FILES) await copyFile(join(HOOK_SOURCES, f), join(out, f));
    const boot = {
      root, cache, salt, onMiss: 'fallback',
      node: process.execPath, cli: join(PACKAGE_ROOT, 'bin', 'cti.js'),
      limits: config.limits, redact: config.redact,
    };
    await writeFile(join(out, 'cti_boot.json'), `${JSON.stringify(boot, null, 2)}\n`);
  }

  const files = await pythonFiles(root, out);
  const tasks: PyFileTask[] = files.map((path) => ({ path, rel: relative(root, path).split(sep).join('/'), cache, salt, config }));
  const progress = createProgress(io.stderr, opts.quiet ? 0 : tasks.length);
  const outcomes: PyFileOutcome[] = [];
  const done = (o: PyFileOutcome) => {
    outcomes.push(o);
    progress.fileDone(o.state === 'cached', o.state === 'passed' && o.diagnostics.some((d) => d.severity === 'error'));
  };
  const threads = Math.min(opts.jobs ?? availableParallelism(), Math.ceil(tasks.length / MIN_FILES_PER_THREAD));
  try {
    if (threads <= 1 || !existsSync(WORKER_FILE)) {
      for (const task of tasks) done(await processPyFile(task));
    } else {
      const pool = new Tinypool({ filename: WORKER_FILE, minThreads: threads, maxThreads: threads });
      try {
        await Promise.all(tasks.map(async (task) => done((await pool.run(task)) as PyFileOutcome)));
      } finally {
        await pool.destroy();
      }
    }
  } finally {
    progress.stop();
  }

  const count = (s: PyFileOutcome['state']) => outcomes.filter((o) => o.state === s).length;
  for (const o of outcomes.sort((a, b) => a.rel.localeCompare(b.rel))) {
    for (const d of o.diagnostics) {
      if (d.severity !== 'info') io.stderr.write(`${o.rel}:${d.line}: ${d.severity}: ${d.message}\n`);
    }
  }
  if (!opts.quiet) {
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    io.stderr.write(`cti py hook: ${outcomes.length} files (${count('instrumented')} instrumented, ${count('cached')} cached, ${count('passed')} passed through) in ${seconds}s\n`);
    if (!opts.cacheOnly) io.stderr.write(`run: PYTHONPATH=${out} python <your script>\n`);
  }
  return 0;
}
