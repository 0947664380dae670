import { stat } from 'node:fs/promises';
import { basename, extname, join, relative, resolve } from 'node:path';
import picomatch from 'picomatch';
import { glob } from 'tinyglobby';
import { languageFor } from '../../core/languages.js';
import { llmLanguageFor } from '../../core/llm/index.js';
import type { CtiConfig } from '../../core/types.js';
import { CliError } from '../context.js';
import type { ModuleType } from './module-type.js';
import { ModuleTypeResolver } from './module-type.js';
import { isWithin, realpathLoose, toPosix } from './paths.js';

/** Never mirrored at all: dependencies and VCS data are not part of the tree being built. */
export const ALWAYS_SKIPPED = ['**/node_modules/**', '**/.git/**'];

export interface PlannedFile {
  /** Absolute path of the input file. */
  source: string;
  /** Path relative to the root with forward slashes: globs, messages and code.file.path. */
  rel: string;
  /** Absolute output path; null for a dry run without --out. */
  output: string | null;
  /** 'llm': a language without a built-in instrumenter, sent to the configured model. */
  action: 'instrument' | 'llm' | 'copy';
  /** tree-sitter language id of an 'llm' file. */
  language?: string;
  /** Why a file is copied as it is. */
  reason?: string;
  moduleType?: ModuleType;
}

export interface PlanOptions {
  cwd: string;
  root: string;
  out: string | null;
  config: CtiConfig;
  /** 'auto' detects per file; otherwise forced for every file. */
  moduleType: 'auto' | ModuleType;
  /** An LLM provider is configured. */
  llm?: boolean;
}

interface Input {
  given: string;
  path: string;
  real: string;
  isDir: boolean;
}

async function resolveInputs(paths: string[], cwd: string): Promise<Input[]> {
  const inputs: Input[] = [];
  for (const given of paths) {
    const path = resolve(cwd, given);
    let isDir: boolean;
    try {
      const info = await stat(path);
      if (!info.isDirectory() && !info.isFile()) throw new CliError(`${given}: not a file or directory`);
      isDir = info.isDirectory();
    } catch (e) {
      if (e instanceof CliError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new CliError(code === 'ENOENT' ? `${given}: no such file or directory` : `${given}: cannot read: ${(e as Error).message}`);
    }
    inputs.push({ given, path, real: realpathLoose(path), isDir });
  }
  return inputs;
}

/** The output must never land in an input (we would instrument our own output next time) nor contain one. */
function checkOverlap(inputs: Input[], root: string, out: string | null, outGiven: string | undefined): void {
  const realRoot = realpathLoose(root);
  for (const input of inputs) {
    if (!isWithin(input.real, realRoot)) {
      throw new CliError(`${input.given} is outside the root ${root}; pass a --root that contains every input`);
    }
    if (out === null) continue;
    const realOut = realpathLoose(out);
    if (isWithin(realOut, input.real)) {
      throw new CliError(`--out ${outGiven} is inside the input ${input.given}; refusing to write into an input`);
    }
    if (isWithin(input.real, realOut)) {
      throw new CliError(`the input ${input.given} is inside --out ${outGiven}; refusing to overwrite an input`);
    }
  }
}

/** Why a supported file is not instrumented (naming the exclude pattern that matched), or null when it is. */
function matcher(config: CtiConfig) {
  const included = picomatch(config.include, { dot: true });
  const excluders = config.exclude.map((p) => ({ pattern: p, test: picomatch(p, { dot: true }) }));
  return (rel: string): string | null => {
    const excluder = excluders.find((e) => e.test(rel));
    if (excluder) return `excluded by "${excluder.pattern}"`;
    if (!included(rel)) return 'not matched by include';
    return null;
  };
}

/**
 * Lists every file to mirror and what happens to it. A directory's contents land directly
 * in --out (like babel/tsc); a file input lands as out/<its name>.
 */
export async function planFiles(paths: string[], options: PlanOptions & { outGiven?: string }): Promise<PlannedFile[]> {
  const inputs = await resolveInputs(paths, options.cwd);
  checkOverlap(inputs, options.root, options.out, options.outGiven);
  const whyNot = matcher(options.config);
  const moduleTypes = new ModuleTypeResolver();
  const byOutput = new Map<string, string>();
  const seen = new Set<string>();
  const planned: PlannedFile[] = [];

  for (const input of inputs) {
    const within = input.isDir
      ? (await glob('**', { cwd: input.path, dot: true, onlyFiles: true, ignore: ALWAYS_SKIPPED, followSymbolicLinks: true })).sort()
      : [basename(input.path)];
    const base = input.isDir ? input.path : resolve(input.path, '..');
    for (const name of within) {
      const source = join(base, name);
      if (seen.has(source)) continue; // the same file reached through two inputs
      seen.add(source);
      const rel = toPosix(relative(options.root, source));
      const output = options.out === null ? null : join(options.out, name);
      if (output !== null) {
        const other = byOutput.get(output);
        if (other !== undefined) throw new CliError(`${other} and ${rel} would both be written to ${output}`);
        byOutput.set(output, rel);
      }
      const lang = languageFor(source);
      const viaLlm = lang ? undefined : llmLanguageFor(source);
      if (viaLlm) {
        // The include globs name the built-in languages' files; exclude applies to every file.
        const excluded = whyNot(rel)?.startsWith('excluded') ? whyNot(rel) : null;
        const reason = excluded ?? (options.llm ? null : `${viaLlm.name}: skipped, no LLM provider configured (set LLM_PROVIDER and LLM_MODEL)`);
        planned.push({ source, rel, output, action: reason === null ? 'llm' : 'copy', ...(reason === null ? { language: viaLlm.id } : { reason }) });
        continue;
      }
      const reason = lang ? whyNot(rel) : `no instrumenter for ${extname(source) || 'files without an extension'}`;
      planned.push({
        source,
        rel,
        output,
        action: reason === null ? 'instrument' : 'copy',
        ...(reason === null ? {} : { reason }),
        ...(reason === null ? { moduleType: options.moduleType === 'auto' ? moduleTypes.forFile(source) : options.moduleType } : {}),
      });
    }
  }
  return planned;
}
