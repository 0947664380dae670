/**
 * The bundler-independent part of the plugins: which ids to instrument, and instrumenting one
 * module through the core cache. src/plugins/index.ts adapts it to unplugin.
 */
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import picomatch from 'picomatch';
import { instrumentCached, openCache, type InstrumentCache } from '../core/cache.js';
import { loadConfig } from '../core/config.js';
import { RUNTIME_SPECIFIER } from '../core/instrument.js';
import type { CaptureOptions, CtiConfig, Diagnostic, Limits, SourceMapV3 } from '../core/types.js';
import { ModuleTypeResolver, type ModuleType } from '../cli/instrument/module-type.js';

/** A RegExp is tested against the module's path (query removed); a string is a glob relative to the root. */
export type FilterPattern = RegExp | string | ReadonlyArray<RegExp | string>;

export interface CtiPluginOptions {
  /** Modules to instrument. Default: `/\.[cm]?[jt]sx?$/`. */
  include?: FilterPattern;
  /** Modules to leave alone, on top of the ones always left alone (`\0…` and `virtual:` ids, the runtime). Default: `/node_modules/`. */
  exclude?: FilterPattern;
  /** Project root: where cti.config.json is read and what `code.file.path` is relative to. Default: Vite's `root`, else process.cwd(). */
  root?: string;
  /** Cache directory (default: node_modules/.cache/code-telemetry-injector next to the root's package.json, or CTI_CACHE_DIR); `false`: no cache. */
  cacheDir?: string | false;
  /** Module specifier instrumented code imports the runtime from. Default: `code-telemetry-injector/runtime`. */
  runtime?: string;
  /**
   * Where the bundle runs. `node`: the runtime import stays external (Node loads the installed
   * package). `browser`: the browser runtime is bundled, configured with the options below.
   * Default: detected (Vite: SSR or not; esbuild/Rolldown: `platform`; webpack/Rspack: `target`);
   * Rollup, which has no notion of a platform: `node`.
   */
  target?: 'node' | 'browser';
  /**
   * Browser builds: the OTLP/HTTP traces receiver (default: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
   * else OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`, else `http://127.0.0.1:4318/v1/traces`).
   * Vite's dev and preview servers relay `/__cti/v1/traces` to it; pages built by the other
   * bundlers, and Vite client builds given an explicit `endpoint`, post to it directly (the
   * receiver must allow CORS).
   */
  endpoint?: string;
  /** Browser builds: the URL the page posts spans to, overriding the above (Vite default: the relay path `/__cti/v1/traces`, or `endpoint` when given for a build). */
  browserEndpoint?: string;
  /** Browser builds: `service.name` of the page's spans. Default: OTEL_SERVICE_NAME at build time, else `unknown_service:browser`. */
  serviceName?: string;
  /** Parse the instrumented output again before using it (slower; for debugging the instrumenter). */
  validate?: boolean;
  /** Override cti.config.json: what to record. */
  capture?: Partial<CaptureOptions>;
  /** Override cti.config.json: preview and event limits. */
  limits?: Partial<Limits>;
  /** Override cti.config.json: names whose values are redacted (case-insensitive RegExp sources). */
  redact?: string[];
  /** Receives diagnostics of severity warning or error (default: the bundler's warnings, `cti: file:line:col: message`; the module is left as is). */
  onDiagnostic?: (diagnostic: Diagnostic) => void;
}

export const DEFAULT_INCLUDE = /\.[cm]?[jt]sx?$/;
export const DEFAULT_EXCLUDE = /[\\/]node_modules[\\/]/;
/** Ids that never are files of the project: rollup's `\0` virtual modules, `virtual:` ids. */
export const ALWAYS_EXCLUDE = [/^\0/, /^virtual:/];

/** This package's runtime directory (dist/runtime/): never instrumented. */
const RUNTIME_DIR = fileURLToPath(new URL('../runtime/', import.meta.url));

/** The file an id names: the query and hash (`?v=…`, `?vue&type=script`) removed. */
export function cleanId(id: string): string {
  const q = id.search(/[?#]/);
  return q === -1 ? id : id.slice(0, q);
}

function toList(p: FilterPattern | undefined): Array<RegExp | string> | undefined {
  if (p === undefined) return undefined;
  return typeof p === 'string' || p instanceof RegExp ? [p] : [...p];
}

/** The RegExp parts of include/exclude, for the bundler's own (native, cheaper) hook filter. */
export function hookFilter(options: CtiPluginOptions): { include?: RegExp[]; exclude: RegExp[] } {
  const include = toList(options.include) ?? [DEFAULT_INCLUDE];
  const exclude = toList(options.exclude) ?? [DEFAULT_EXCLUDE];
  return {
    // With a glob among the includes the bundler cannot pre-filter: every id reaches our check.
    include: include.every((p) => p instanceof RegExp) ? (include as RegExp[]) : undefined,
    exclude: [...ALWAYS_EXCLUDE, ...exclude.filter((p): p is RegExp => p instanceof RegExp)],
  };
}

export interface TransformOutput {
  code: string;
  map: SourceMapV3 | null;
}

/** One per plugin instance: the root, config and cache are resolved on first use. */
export class CtiTransformer {
  private rootDir: string | undefined;
  private state: { config: CtiConfig; cache: InstrumentCache | null; include: (file: string) => boolean } | undefined;
  private readonly moduleTypes = new ModuleTypeResolver();

  constructor(readonly options: CtiPluginOptions = {}) {
    this.rootDir = options.root === undefined ? undefined : resolve(options.root);
  }

  get runtime(): string {
    return this.options.runtime ?? RUNTIME_SPECIFIER;
  }

  get root(): string {
    return this.rootDir ?? process.cwd();
  }

  /** The host's root (Vite's config.root); an explicit `root` option wins. Call before the first transform. */
  setHostRoot(root: string): void {
    if (this.options.root === undefined && !this.state) this.rootDir = resolve(root);
  }

  private init() {
    if (this.state) return this.state;
    const root = this.root;
    const file = loadConfig(root);
    const o = this.options;
    const config: CtiConfig = {
      include: file.include,
      exclude: file.exclude,
      capture: { ...file.capture, ...o.capture },
      limits: { ...file.limits, ...o.limits },
      redact: o.redact ?? file.redact,
    };
    const cache = o.cacheDir === false ? null : openCache({ root, dir: o.cacheDir });
    const include = toList(o.include) ?? [DEFAULT_INCLUDE];
    const exclude = [...ALWAYS_EXCLUDE, ...(toList(o.exclude) ?? [DEFAULT_EXCLUDE])];
    const matcher = (list: Array<RegExp | string>) => {
      const regexes = list.filter((p): p is RegExp => p instanceof RegExp);
      const globs = list.filter((p): p is string => typeof p === 'string');
      const glob = globs.length ? picomatch(globs, { dot: true }) : () => false;
      return (file: string, rel: string | null) => regexes.some((r) => { r.lastIndex = 0; return r.test(file); }) || glob(rel ?? file);
    };
    const inc = matcher(include);
    const exc = matcher(exclude);
    // cti.config.json's globs are relative to the root: they judge the files inside it.
    const cfgInc = picomatch(config.include, { dot: true });
    const cfgExc = picomatch(config.exclude, { dot: true });
    this.state = {
      config,
      cache,
      include: (file) => {
        if (file.startsWith(RUNTIME_DIR) || file === this.runtime) return false;
        const r = relative(root, file);
        const rel = !isAbsolute(file) || r.startsWith('..') || isAbsolute(r) ? null : r.split(sep).join('/');
        if (!inc(file, rel) || exc(file, rel)) return false;
        return rel === null || (cfgInc(rel) && !cfgExc(rel));
      },
    };
    return this.state;
  }

  /** Whether the module with this id is instrumented. */
  includes(id: string): boolean {
    if (ALWAYS_EXCLUDE.some((r) => r.test(id))) return false;
    return this.init().include(cleanId(id));
  }

  moduleType(file: string): ModuleType | undefined {
    const ext = extname(file).toLowerCase();
    if (ext === '.mts') return 'esm';
    if (ext === '.cts') return 'cjs';
    return this.moduleTypes.forFile(file);
  }

  /** Instruments one module; null when it is left as is (excluded, nothing to instrument, or it does not parse). */
  async transform(code: string, id: string, warn?: (message: string) => void): Promise<TransformOutput | null> {
    if (!this.includes(id)) return null;
    const { config, cache } = this.init();
    const filename = cleanId(id);
    const result = await instrumentCached(code, {
      filename,
      root: this.root,
      config,
      runtime: this.runtime,
      moduleType: this.moduleType(filename),
      sourceMap: true,
    }, cache, { validate: this.options.validate ?? false });
    for (const d of result.diagnostics) {
      if (d.severity === 'info') continue;
      if (this.options.onDiagnostic) this.options.onDiagnostic(d);
      else warn?.(`cti: ${d.file}:${d.line}:${d.column}: ${d.message}`);
    }
    if (!result.instrumented) return null;
    // The core names the source relative to the file (right next to it); bundlers resolve a
    // relative source against their own context (webpack: the project root, losing `src/`), so
    // hand them the absolute path, which every bundler rewrites for its output.
    const map = result.map && result.map.sources.length === 1 ? { ...result.map, sources: [filename] } : result.map;
    return { code: result.code, map };
  }
}
