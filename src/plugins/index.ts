/**
 * One unplugin for every bundler: instruments each project module before other transforms see
 * it (authored TS/JSX, comments intact), through the core cache. Per-bundler entries
 * (./vite.ts, ./rollup.ts, …) re-export the adapters.
 *
 * The runtime import instrumented code carries is resolved by target: Node bundles keep it
 * external; browser bundles get the browser runtime, configured by a virtual module (Vite: by
 * index.html, so its dev server can pre-bundle the runtime like any dependency).
 */
import { createUnplugin, type UnpluginInstance } from 'unplugin';
import { RUNTIME_SPECIFIER } from '../core/instrument.js';
import { CtiTransformer, DEFAULT_INCLUDE, hookFilter, type CtiPluginOptions } from './transform.js';
import { receiverEndpoint, relayMiddleware, RELAY_PATH } from './relay.js';
import { BROWSER_RUNTIME_FILE, browserConfig, configStatement, runtimeModule, CONFIG_SPECIFIER, VIRTUAL_CONFIG, VIRTUAL_RUNTIME } from './browser-config.js';

export type { CtiPluginOptions, FilterPattern } from './transform.js';
export { DEFAULT_INCLUDE, DEFAULT_EXCLUDE } from './transform.js';
export { RELAY_PATH, receiverEndpoint } from './relay.js';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const NODE_TARGET = /^(async-)?node|^electron-(main|preload)/;

export const unplugin: UnpluginInstance<CtiPluginOptions | undefined, false> = createUnplugin<CtiPluginOptions | undefined, false>((options = {}) => {
  const t = new CtiTransformer(options);
  // Until the host says otherwise (Rollup never does).
  let target: 'node' | 'browser' = options.target ?? 'node';
  const detected = (found: 'node' | 'browser') => {
    if (options.target === undefined) target = found;
  };
  // A custom runtime module is the user's to configure: only ours is swapped for the virtual one.
  const virtualRuntime = t.runtime === RUNTIME_SPECIFIER;
  const resolveIds = new RegExp(`^(${escape(t.runtime)}|${escape(CONFIG_SPECIFIER)})$`);
  let command: 'build' | 'serve' = 'build';
  // webpack and Rspack: plugins apply before the target's defaults, so an unset target is theirs: `web`.
  const webpackLike = (compiler: { options: { target?: unknown; output: { module?: boolean } }; webpack: { ExternalsPlugin: new (type: 'commonjs' | 'node-commonjs', externals: string[]) => { apply(c: never): void } } }) => {
    if (options.target === undefined) {
      const targets = [compiler.options.target ?? 'web'].flat().map(String);
      detected(targets.some((x) => NODE_TARGET.test(x)) ? 'node' : 'browser');
    }
    if (target !== 'node') return;
    const type = compiler.options.output.module ? 'node-commonjs' : 'commonjs';
    new compiler.webpack.ExternalsPlugin(type, [t.runtime]).apply(compiler as never);
  };
  return {
    name: 'code-telemetry-injector',
    enforce: 'pre',
    resolveId: {
      filter: { id: resolveIds },
      handler(id) {
        if (id === CONFIG_SPECIFIER) return VIRTUAL_CONFIG;
        if (id !== t.runtime) return null;
        // Node: loaded by Node from the installed package at run time (it finds its own files
        // through import.meta.url), and one process shares one runtime.
        if (target === 'node') return { id, external: true };
        return virtualRuntime ? VIRTUAL_RUNTIME : null;
      },
    },
    load: {
      filter: { id: /^\0cti-(runtime|config)\.js$/ },
      handler(id) {
        if (id === VIRTUAL_RUNTIME) return runtimeModule(BROWSER_RUNTIME_FILE);
        if (id === VIRTUAL_CONFIG) return configStatement(browserConfig(options, options.browserEndpoint ?? receiverEndpoint(options.endpoint)));
        return null;
      },
    },
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
      transformIndexHtml() {
        const endpoint = options.browserEndpoint ?? (command === 'build' && options.endpoint ? options.endpoint : RELAY_PATH);
        return [{ tag: 'script', children: configStatement(browserConfig(options, endpoint)), injectTo: 'head-prepend' }];
      },
      configureServer(server) {
        server.middlewares.use(RELAY_PATH, relayMiddleware(() => receiverEndpoint(options.endpoint)));
      },
      configurePreviewServer(server) {
        server.middlewares.use(RELAY_PATH, relayMiddleware(() => receiverEndpoint(options.endpoint)));
      },
      // The runtime is external in SSR only; client code resolves the package's browser export.
      resolveId: {
        filter: { id: resolveIds },
        handler(id, _importer, opts) {
          const ssr = options.target ? options.target === 'node' : opts?.ssr === true;
          return id === t.runtime && ssr ? { id, external: true } : null;
        },
      },
    },
    rolldown: {
      buildStart(input) {
        detected(input.platform === 'node' ? 'node' : 'browser');
      },
    },
    webpack: webpackLike,
    rspack: webpackLike,
    esbuild: {
      config(initial) {
        // esbuild's own default platform is the browser.
        detected(initial.platform === 'node' ? 'node' : 'browser');
      },
      onResolveFilter: resolveIds,
      onLoadFilter: options.include === undefined ? DEFAULT_INCLUDE : undefined,
    },
  };
});

export default unplugin;
