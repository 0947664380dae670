/**
 * The browser runtime's settings, fixed at build time (the page has no environment): put on
 * `globalThis.__CTI_CONFIG__` before the runtime module runs, by Vite's index.html or by the
 * virtual runtime module the other bundlers load. A config the page set itself wins, field by field.
 */
import { fileURLToPath } from 'node:url';
import type { BrowserConfig } from '../runtime/browser.js';
import { PACKAGE_VERSION } from '../core/version.js';
import type { CtiPluginOptions } from './transform.js';

/** The browser runtime the virtual runtime module re-exports. */
export const BROWSER_RUNTIME_FILE = fileURLToPath(new URL('../runtime/browser.js', import.meta.url));

/** Ids of the virtual modules (`.js`: they pass esbuild's load filter). */
export const VIRTUAL_RUNTIME = '\0cti-runtime.js';
export const VIRTUAL_CONFIG = '\0cti-config.js';
/** How the runtime module imports the config module: a bare name (a `\0` in a request does not survive Rspack; `virtual:` is a URI scheme to webpack). */
export const CONFIG_SPECIFIER = '__cti_config__';

export function browserConfig(options: CtiPluginOptions, endpoint: string, env: NodeJS.ProcessEnv = process.env): BrowserConfig {
  const serviceName = options.serviceName ?? env.OTEL_SERVICE_NAME;
  const delay = env.OTEL_BSP_SCHEDULE_DELAY ? Number(env.OTEL_BSP_SCHEDULE_DELAY) : Number.NaN;
  return {
    endpoint,
    // The runtime cannot read the package's version in a page.
    version: PACKAGE_VERSION,
    ...(serviceName ? { serviceName } : {}),
    ...(Number.isInteger(delay) && delay >= 0 ? { scheduleDelayMs: delay } : {}),
  };
}

/** A statement that installs the config (safe inside an inline <script>). */
export function configStatement(config: BrowserConfig): string {
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  return `globalThis.__CTI_CONFIG__=Object.assign(${json},globalThis.__CTI_CONFIG__);`;
}

/**
 * The virtual runtime module: the config module first (ES modules evaluate their imports in
 * order), then everything the browser runtime exports.
 */
export function runtimeModule(runtimeFile: string): string {
  return `import ${JSON.stringify(CONFIG_SPECIFIER)};\nexport * from ${JSON.stringify(runtimeFile)};\n`;
}
