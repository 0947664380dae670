import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureChromium } from '../browser/harness.js';

/** Tests run instrumented programs that import the built runtime, and spawn bin/cti.js: build once. */
export default function setup() {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  // Once, before the test files run in parallel: two concurrent apt-get installs would fight over dpkg's lock.
  ensureChromium();
}
