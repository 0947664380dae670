/** What to record. Every flag defaults to true. */
export interface CaptureOptions {
  functions: boolean;
  args: boolean;
  returns: boolean;
  variables: boolean;
  branches: boolean;
  loops: boolean;
  exceptions: boolean;
}

export interface Limits {
  /** Maximum characters of a value preview (cti.arg.*, cti.return, cti.var.value). */
  valueLength: number;
  /** Maximum events per span; the rest are counted in dropped_events_count. */
  eventsPerSpan: number;
}

/** The resolved project configuration (cti.config.json merged over the defaults). */
export interface CtiConfig {
  include: string[];
  exclude: string[];
  capture: CaptureOptions;
  limits: Limits;
  /** Case-insensitive regular expression sources; a name matching one is redacted. */
  redact: string[];
}

export interface InstrumentOptions {
  /** Path of the file: picks the language and names it in diagnostics. */
  filename: string;
  /** Project root: `code.file.path` is `filename` relative to it. Default: process.cwd(). */
  root?: string;
  /** Configuration; missing fields take the defaults of docs/configuration.md. */
  config?: Partial<Omit<CtiConfig, 'capture' | 'limits'>> & { capture?: Partial<CaptureOptions>; limits?: Partial<Limits> };
  /** Module specifier the instrumented code imports the runtime from. */
  runtime?: string;
  /** What the host knows about the module system; otherwise the syntax decides. */
  moduleType?: 'esm' | 'cjs';
  /** Produce a source map (default true). */
  sourceMap?: boolean;
}

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  message: string;
  severity: 'info' | 'warning' | 'error';
}

export interface SourceMapV3 {
  version: number;
  file?: string;
  sourceRoot?: string;
  sources: string[];
  sourcesContent?: (string | null)[];
  names: string[];
  mappings: string;
}

export interface InstrumentStats {
  functions: number;
  variables: number;
  branches: number;
  loops: number;
}

export interface InstrumentResult {
  /** Instrumented code, or the input unchanged when nothing was instrumented. */
  code: string;
  map: SourceMapV3 | null;
  /** True when the code was changed. */
  instrumented: boolean;
  /** Why a file or a function was left alone, parse errors, etc. */
  diagnostics: Diagnostic[];
  stats: InstrumentStats;
  language: string | null;
}

/** A language front end: pure, no I/O. */
export interface LanguageInstrumenter {
  language: string;
  /** Bumped whenever the output for the same input may change (part of the cache key). */
  version: string;
  extensions: string[];
  instrument(code: string, ctx: InstrumentContext): InstrumentResult | Promise<InstrumentResult>;
  /** Parses `code` again; returns the first syntax error, or null when it parses. */
  check(code: string, filename: string): Diagnostic | null | Promise<Diagnostic | null>;
}

export interface InstrumentContext {
  filename: string;
  /** Path relative to the root with forward slashes: the value of code.file.path. */
  relativePath: string;
  config: CtiConfig;
  runtime: string;
  moduleType?: 'esm' | 'cjs';
  sourceMap: boolean;
}
