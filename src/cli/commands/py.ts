import { InvalidArgumentError } from 'commander';
import type { RegisterCommand } from '../context.js';
import { runPyHook } from '../py/hook.js';

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** `cti py hook --out <dir>`: the Python import hook and its pre-instrumented cache. */
export const registerPy: RegisterCommand = (program, ctx) => {
  const py = program.command('py').description('Python: instrument a project through an import hook');
  py.command('hook')
    .description('Write a stdlib-only boot directory and instrument every .py file under --root into its cache; then run `PYTHONPATH=<out> python app.py`')
    .requiredOption('-o, --out <dir>', 'boot directory (sitecustomize.py, the hook, the runtime, cache/); outside the project root is best')
    .option('--root <dir>', 'project root: only .py files under it are instrumented (default: cwd)')
    .option('-j, --jobs <n>', 'worker threads (default: available parallelism)', positiveInteger)
    .option('--cache-only', 'only instrument files missing from the cache (what CTI_ON_MISS=sync runs)')
    .option('-q, --quiet', 'no progress bar and no summary')
    .action(async (flags: { out: string; root?: string; jobs?: number; cacheOnly?: boolean; quiet?: boolean }) => {
      ctx.exitCode = await runPyHook({ out: flags.out, root: flags.root, jobs: flags.jobs, cacheOnly: flags.cacheOnly ?? false, quiet: flags.quiet ?? false }, ctx.io);
    });
};
