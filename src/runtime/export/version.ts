import { readFileSync } from 'node:fs';

/** Our package version, for the OTLP scope and telemetry.sdk.version; read once, never fatal. */
export const VERSION: string = (() => {
  try {
    // src/runtime/export and dist/runtime/export are both three levels below package.json.
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

export const SDK_NAME = 'code-telemetry-injector';
