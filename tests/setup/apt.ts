import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian packages the tests run, by the program each provides: Chromium for the browser tests
 * (browser downloads do not work here), Ruby and PHP for the LLM path's samples (their tests are
 * skipped without them, so only Chromium is required). */
const PACKAGES: Record<string, string> = { chromium: '/usr/bin/chromium', ruby: '/usr/bin/ruby', 'php-cli': '/usr/bin/php' };
const REQUIRED = ['chromium'];

/** Installs the missing ones with apt, in one go (once, before the test files run in parallel:
 * two concurrent apt-get installs would fight over dpkg's lock). */
export function ensureDebianPackages(): void {
  const missing = Object.keys(PACKAGES).filter((name) => !existsSync(PACKAGES[name]!));
  if (missing.length === 0) return;
  try {
    execSync(`apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing.join(' ')}`, { stdio: 'inherit', timeout: 300_000 });
  } catch (error) {
    if (REQUIRED.some((name) => !existsSync(PACKAGES[name]!))) throw error;
    console.warn(`apt-get install ${missing.join(' ')} failed; the tests that need them are skipped`);
  }
}
