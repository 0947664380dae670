/**
 * One unplugin for every bundler: instruments each project module before other transforms see
 * it (authored TS/JSX, comments intact), through the core cache. Per-bundler entries
 * (./vite.ts, ./rollup.ts, …) re-export the adapters.
 */
import { createUnplugin, type UnpluginInstance } from 'unplugin';
import { CtiTransformer, DEFAULT_INCLUDE, hookFilter, type CtiPluginOptions } from './transform.js';
import { receiverEndpoint, relayMiddleware, RELAY_PATH } from './relay.js';

export type { CtiPluginOptions, FilterPattern } from './transform.js';
export { DEFAULT_INCLUDE, DEFAULT_EXCLUDE } from './transform.js';
export { RELAY_PATH, receiverEndpoint } from './relay.js';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const unplugin: UnpluginInstance<CtiPluginOptions | undefined, false> = createUnplugin<CtiPluginOptions | undefined, false>((options = {}) => {
  const t = new CtiTransformer(options);
  const external = options.externalRuntime ?? true;
  const runtimeId = new RegExp(`^${escape(t.runtime)}$`);
  let command: 'build' | 'serve' = 'build';
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
      // A module we cannot instrument stays as it is, with a warning in the bundler's own output.
      handler(code, id) {
        return t.transform(code, id, (message) => this.warn(message));
      },
    },
    vite: {
      // Client side: the runtime is bundled (Vite picks the package's `browser` export) and, in
      // dev, pre-bundled once with the other dependencies, so its discovery never triggers an
      // "optimized dependencies changed" reload.
      config(_config, env) {
        command = env.command;
        // Only a package specifier can be pre-bundled (a custom `runtime` path is served as source).
        return /^[./]/.test(t.runtime) ? undefined : { optimizeDeps: { include: [t.runtime] } };
      },
      configResolved(config) {
        t.setHostRoot(config.root);
      },
      // The browser runtime's settings, before any module script runs.
      transformIndexHtml() {
        const endpoint = options.browserEndpoint ?? (command === 'build' && options.endpoint ? options.endpoint : RELAY_PATH);
        const serviceName = options.serviceName ?? process.env.OTEL_SERVICE_NAME;
        // The standard batch delay, read at build time: the page has no environment.
        const delay = process.env.OTEL_BSP_SCHEDULE_DELAY ? Number(process.env.OTEL_BSP_SCHEDULE_DELAY) : Number.NaN;
        const scheduleDelayMs = Number.isInteger(delay) && delay >= 0 ? delay : undefined;
        const config = JSON.stringify({ endpoint, ...(serviceName ? { serviceName } : {}), ...(scheduleDelayMs !== undefined ? { scheduleDelayMs } : {}) }).replace(/</g, '\\u003c');
        return [{ tag: 'script', children: `globalThis.__CTI_CONFIG__=${config};`, injectTo: 'head-prepend' }];
      },
      configureServer(server) {
        server.middlewares.use(RELAY_PATH, relayMiddleware(() => receiverEndpoint(options.endpoint)));
      },
      configurePreviewServer(server) {
        server.middlewares.use(RELAY_PATH, relayMiddleware(() => receiverEndpoint(options.endpoint)));
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
