import { resolve } from 'node:path';
import { cacheStats, clearCache, resolveCacheDir } from '../../core/cache.js';
import type { RegisterCommand } from '../context.js';

const formatBytes = (n: number) => (n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);

/** `cti cache stats|clear`: inspect or empty the instrumentation cache. */
export const registerCache: RegisterCommand = (program, ctx) => {
  const cache = program.command('cache').description('Inspect or empty the instrumentation cache');
  const dirOf = (opts: { cacheDir?: string; root?: string }) =>
    resolveCacheDir({ dir: opts.cacheDir && resolve(ctx.io.cwd, opts.cacheDir), root: resolve(ctx.io.cwd, opts.root ?? '.'), env: ctx.io.env });

  cache.command('stats')
    .description('Print the cache directory, its number of entries and their size')
    .option('--cache-dir <dir>', 'cache directory (default: $CTI_CACHE_DIR, else node_modules/.cache/code-telemetry-injector near --root)')
    .option('--root <dir>', 'project root used to find the default cache directory (default: cwd)')
    .option('--json', 'print the numbers as JSON')
    .action(async (opts: { cacheDir?: string; root?: string; json?: boolean }) => {
      const stats = await cacheStats(dirOf(opts));
      ctx.io.stdout.write(opts.json
        ? `${JSON.stringify(stats)}\n`
        : `cache: ${stats.dir}\nentries: ${stats.entries}\nsize: ${formatBytes(stats.bytes)} (${stats.bytes} bytes)\n`);
    });

  cache.command('clear')
    .description('Delete every cache entry (files the cache did not create are left alone)')
    .option('--cache-dir <dir>', 'cache directory (default: $CTI_CACHE_DIR, else node_modules/.cache/code-telemetry-injector near --root)')
    .option('--root <dir>', 'project root used to find the default cache directory (default: cwd)')
    .option('--json', 'print the outcome as JSON')
    .action(async (opts: { cacheDir?: string; root?: string; json?: boolean }) => {
      const cleared = await clearCache(dirOf(opts));
      ctx.io.stdout.write(opts.json
        ? `${JSON.stringify(cleared)}\n`
        : `cleared ${cleared.removed} entries (${formatBytes(cleared.bytes)}) from ${cleared.dir}\n`);
    });
};
