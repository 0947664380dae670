/**
 * A worker thread of the cti-go daemon (daemon.ts): keeps the instrumenter (and tree-sitter's
 * WebAssembly) loaded and instruments one package per message.
 */
import { parentPort } from 'node:worker_threads';
import { loadLanguage } from '../tree-sitter/index.js';
import { instrumentPackage, type PackageRequest } from './package.js';

// Load the grammar now, while the first request is on its way (a failure shows up there).
loadLanguage('go').catch(() => {});

parentPort!.on('message', async ({ id, request }: { id: number; request: PackageRequest }) => {
  try {
    parentPort!.postMessage({ id, answer: await instrumentPackage(request) });
  } catch (err) {
    parentPort!.postMessage({ id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
