/** Our package version, for the OTLP scope and telemetry.sdk.version; read once, never fatal. */
export const VERSION: string = (() => {
  try {
    // Through process.getBuiltinModule (Node >= 20.16) rather than an import of node:fs, so that
    // the browser runtime, which shares the OTLP encoder, bundles without Node built-ins. The
    // path is a variable so that bundlers do not take `new URL(…, import.meta.url)` for an asset.
    const fs = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process?.getBuiltinModule?.('node:fs') as
      | typeof import('node:fs')
      | undefined;
    if (fs === undefined) return '0.0.0';
    // src/runtime/export and dist/runtime/export are both three levels below package.json.
    const pkgPath = '../../../package.json';
    const pkg = JSON.parse(fs.readFileSync(new URL(pkgPath, import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

export const SDK_NAME = 'code-telemetry-injector';
