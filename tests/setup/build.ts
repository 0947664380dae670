import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Tests run instrumented programs that import the built runtime, and spawn bin/cti.js: build once. */
export default function setup() {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  // Programs written by earlier runs.
  rmSync(`${root}tests/.tmp`, { recursive: true, force: true });
}
