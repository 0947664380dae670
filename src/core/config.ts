import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CtiConfig, InstrumentOptions } from './types.js';

export const CONFIG_FILE = 'cti.config.json';

/** Names that look secret; matched case-insensitively against argument and variable names. */
export const DEFAULT_REDACT = [
  'passw(or)?d', 'passwd', 'pwd', 'secret', 'token', 'api[-_]?key', 'authori[sz]ation', 'cookie', 'session',
  'credit[-_]?card', 'card[-_]?number', 'cvv', 'ssn', 'private[-_]?key', 'credential',
];

export const DEFAULT_CONFIG: CtiConfig = {
  include: ['**/*.{js,jsx,mjs,cjs,ts,tsx,mts,cts}'],
  exclude: ['**/node_modules/**', '**/.git/**', '**/dist/**', '**/*.d.ts', '**/*.min.js'],
  capture: { functions: true, args: true, returns: true, variables: true, branches: true, loops: true, exceptions: true },
  limits: { valueLength: 120, eventsPerSpan: 128 },
  redact: DEFAULT_REDACT,
};

export class ConfigError extends Error {}

/** Merges a partial configuration over the defaults and checks every field's type. */
export function resolveConfig(partial: InstrumentOptions['config'] = {}, source = 'config'): CtiConfig {
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) {
    throw new ConfigError(`${source}: expected an object`);
  }
  const known = new Set(['$schema', 'include', 'exclude', 'capture', 'limits', 'redact']);
  for (const key of Object.keys(partial)) {
    if (!known.has(key)) throw new ConfigError(`${source}: unknown key "${key}"`);
  }
  const strings = (v: unknown, name: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new ConfigError(`${source}: "${name}" must be an array of strings`);
    return v as string[];
  };
  const capture = { ...DEFAULT_CONFIG.capture };
  for (const [k, v] of Object.entries(partial.capture ?? {})) {
    if (!(k in capture)) throw new ConfigError(`${source}: unknown capture flag "${k}"`);
    if (typeof v !== 'boolean') throw new ConfigError(`${source}: "capture.${k}" must be true or false`);
    (capture as Record<string, boolean>)[k] = v;
  }
  const limits = { ...DEFAULT_CONFIG.limits };
  for (const [k, v] of Object.entries(partial.limits ?? {})) {
    if (!(k in limits)) throw new ConfigError(`${source}: unknown limit "${k}"`);
    if (!Number.isInteger(v) || (v as number) < 0) throw new ConfigError(`${source}: "limits.${k}" must be a non-negative integer`);
    (limits as Record<string, number>)[k] = v as number;
  }
  const redact = strings(partial.redact, 'redact') ?? DEFAULT_CONFIG.redact;
  for (const r of redact) {
    try { new RegExp(r, 'i'); } catch (e) { throw new ConfigError(`${source}: bad redact pattern "${r}": ${(e as Error).message}`); }
  }
  return {
    include: strings(partial.include, 'include') ?? DEFAULT_CONFIG.include,
    exclude: strings(partial.exclude, 'exclude') ?? DEFAULT_CONFIG.exclude,
    capture,
    limits,
    redact,
  };
}

/** Reads `cti.config.json` at the root; a missing file means the defaults. */
export function loadConfig(root: string): CtiConfig {
  const file = join(root, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return resolveConfig({});
    throw new ConfigError(`${file}: cannot read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
  return resolveConfig(json as InstrumentOptions['config'], file);
}

/** Stable hash of everything in the configuration that changes instrumented output. */
export function configHash(config: CtiConfig): string {
  const { capture, limits, redact } = config;
  return createHash('sha256').update(JSON.stringify({ capture, limits, redact })).digest('hex').slice(0, 16);
}

export function redactionTest(config: CtiConfig): (name: string) => boolean {
  if (config.redact.length === 0) return () => false;
  const re = new RegExp(config.redact.map((r) => `(?:${r})`).join('|'), 'i');
  return (name) => re.test(name);
}
