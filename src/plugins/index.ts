/**
 * One unplugin for every bundler: instruments each project module before other transforms see
 * it (authored TS/JSX, comments intact), through the core cache. Per-bundler entries
 * (./vite.ts, ./rollup.ts, …) re-export the adapters.
 */
import { createUnplugin, type UnpluginInstance } from 'unplugin';
import { CtiTransformer, DEFAULT_INCLUDE, hookFilter, type CtiPluginOptions } from './transform.js';

export type { CtiPluginOptions, FilterPattern } from './transform.js';
export { DEFAULT_INCLUDE, DEFAULT_EXCLUDE } from './transform.js';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const unplugin: UnpluginInstance<CtiPluginOptions | undefined, false> = createUnplugin<CtiPluginOptions | undefined, false>((options = {}) => {
  const t = new CtiTransformer(options);
  const external = options.externalRuntime ?? true;
  const runtimeId = new RegExp(`^${escape(t.runtime)}$`);
  return {
    name: 'code-telemetry-injector',
    enforce: 'pre',
    // Node targets: the runtime is loaded by Node from the installed package at run time (it
    // finds its own files through import.meta.url), and one process shares one runtime.
    resolveId: external
      ? { filter: { id: runtimeId }, handler: (id) => (id === t.runtime ? { id, external: true } : null) }
      : undefined,
    transform: {
      filter: { id: hookFilter(options) },
      handler: (code, id) => t.transform(code, id),
    },
    vite: {
      configResolved(config) {
        t.setHostRoot(config.root);
      },
      // Vite: the runtime stays external in SSR builds only (client builds need the browser runtime).
      resolveId: external
        ? { filter: { id: runtimeId }, handler: (id, _importer, opts) => (id === t.runtime && opts?.ssr ? { id, external: true } : null) }
        : undefined,
    },
    webpack(compiler) {
      if (!external) return;
      const type = compiler.options.output.module ? 'node-commonjs' : 'commonjs';
      new compiler.webpack.ExternalsPlugin(type, [t.runtime]).apply(compiler);
    },
    rspack(compiler) {
      if (!external) return;
      const type = compiler.options.output.module ? 'node-commonjs' : 'commonjs';
      new compiler.webpack.ExternalsPlugin(type, [t.runtime]).apply(compiler);
    },
    esbuild: {
      onResolveFilter: runtimeId,
      onLoadFilter: options.include === undefined ? DEFAULT_INCLUDE : undefined,
    },
  };
});

export default unplugin;
