import { InvalidArgumentError, Option } from 'commander';
import { RUNTIME_SPECIFIER } from '../../core/index.js';
import type { RegisterCommand } from '../context.js';
import { runInstrument } from '../instrument/run.js';

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

interface InstrumentFlags {
  out?: string;
  root?: string;
  dryRun?: boolean;
  diff?: boolean;
  jobs?: number;
  cacheDir?: string;
  cache: boolean;
  json?: boolean;
  validate?: boolean;
  debugLog?: string;
  strict?: boolean;
  runtime: string;
  moduleType: 'auto' | 'esm' | 'cjs';
  provider?: string;
  model?: string;
  budget?: number;
}

function usd(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) throw new InvalidArgumentError('expected an amount in USD, e.g. 0.50');
  return n;
}

/** `cti instrument <paths...> --out <dir>`: an instrumented mirror of source trees. */
export const registerInstrument: RegisterCommand = (program, ctx) => {
  program.command('instrument')
    .description('Write instrumented copies of files and directory trees into --out; other files are copied as they are')
    .argument('<paths...>', "files or directories (a directory's contents land directly in --out)")
    .option('-o, --out <dir>', 'output directory, outside every input (required unless --dry-run)')
    .option('--root <dir>', 'project root: cti.config.json, include/exclude globs and code.file.path are relative to it (default: cwd)')
    .option('--dry-run', 'write nothing; print what would happen to each file')
    .option('--diff', 'with --dry-run: print a unified diff of each file that would be instrumented')
    .option('-j, --jobs <n>', 'worker threads (default: available parallelism; 1 runs in-process); also model requests in flight (default 2)', positiveInteger)
    .option('--cache-dir <dir>', 'cache directory (default: $CTI_CACHE_DIR, else node_modules/.cache/code-telemetry-injector)')
    .option('--no-cache', 'neither read nor write the cache')
    .option('--json', 'print a machine-readable summary on stdout')
    .option('--validate', 'parse each instrumented output again and keep the original if it does not parse (default)')
    .option('--no-validate', 'skip that check')
    .option('--debug-log <file>', 'write one JSON line per decision and timing per file')
    .option('--strict', 'exit 1 if a file could not be instrumented (parse error or failed validation)')
    .option('--runtime <specifier>', 'module the instrumented code imports the runtime from', RUNTIME_SPECIFIER)
    .addOption(new Option('--module-type <type>', 'module system of .js files; auto reads the nearest package.json "type"').choices(['auto', 'esm', 'cjs']).default('auto'))
    .option('--provider <name>', 'LLM provider for languages without a built-in instrumenter: ollama, openai or anthropic (default: $LLM_PROVIDER)')
    .option('--model <names>', 'model, or comma-separated models used round-robin (default: $LLM_MODEL)')
    .option('--budget <usd>', 'most USD to spend on model calls; a call that could pass it is not made', usd)
    .addHelpText('after', `
Exit codes: 0 done (files that fail to parse are copied unchanged with a diagnostic),
1 --strict and some file could not be instrumented, 2 bad input.
`)
    .action(async (paths: string[], flags: InstrumentFlags) => {
      ctx.exitCode = await runInstrument({
        paths,
        out: flags.out,
        root: flags.root,
        dryRun: flags.dryRun ?? false,
        diff: flags.diff ?? false,
        jobs: flags.jobs,
        cacheDir: flags.cacheDir,
        cache: flags.cache,
        json: flags.json ?? false,
        validate: flags.validate !== false,
        debugLog: flags.debugLog,
        strict: flags.strict ?? false,
        runtime: flags.runtime,
        moduleType: flags.moduleType,
        llm: { provider: flags.provider, model: flags.model, budget: flags.budget },
      }, ctx.io);
    });
};
