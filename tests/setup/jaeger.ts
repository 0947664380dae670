import { ensureJaeger } from '../interop/jaeger-build.js';

/**
 * Builds Jaeger for tests/interop-jaeger.test.ts before any test file runs (a cache hit when it
 * was built before): a Go build running beside the other tests would starve them of the CPU.
 */
export default async function setup() {
  await ensureJaeger();
}
