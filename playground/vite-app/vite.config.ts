/**
 * The playground's Vite config. The plugin and the browser runtime come from this repository's
 * own build (`dist/`, made by `npm ci` / `npm run build` at the repo root) through relative
 * paths: this app is not a dependency-installing package of its own (it borrows vite from the
 * repo root's node_modules), and the package's self-reference does not reach here (Node resolves
 * `code-telemetry-injector/*` against the nearest package.json, which is this app's).
 *
 * Environment:
 * - CTI_DISABLE=1: no plugin (the uninstrumented app, for comparison).
 * - CTI_ENDPOINT: the OTLP/HTTP traces URL. In a build the page posts to it directly (the receiver
 *   must answer CORS); unset, the page posts to /__cti/v1/traces, which `vite dev` and `vite
 *   preview` relay to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or http://127.0.0.1:4318/v1/traces.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type PluginOption } from 'vite';
import cti from '../../dist/plugins/vite.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const enabled = process.env.CTI_DISABLE !== '1';

export default defineConfig({
  plugins: enabled ? [cti({ endpoint: process.env.CTI_ENDPOINT || undefined, serviceName: 'cti-playground' }) as PluginOption] : [],
  resolve: {
    // What an installed package would resolve by itself (its `browser` export condition).
    alias: [{ find: /^code-telemetry-injector\/runtime$/, replacement: `${repo}dist/runtime/browser.js` }],
  },
  // The runtime lives outside this app's root.
  server: { fs: { allow: ['.', `${repo}dist`] } },
  build: { sourcemap: true },
});
