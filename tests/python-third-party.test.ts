/** more-itertools' own test suite under the Python import hook (tests/python/test_third_party.py): its own file, so that it runs beside the rest. */
import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { REPO } from './helpers/run-both.js';
import { PYTHON } from './helpers/run-both-py.js';

it('a real PyPI project passes its own tests under the hook', () => {
  if (spawnSync(PYTHON, ['-m', 'pytest', '--version']).status !== 0) {
    const pip = spawnSync(PYTHON, ['-m', 'pip', 'install', '--quiet', 'pytest'], { encoding: 'utf8' });
    expect(pip.status, pip.stderr).toBe(0);
  }
  const r = spawnSync(PYTHON, ['-m', 'pytest', 'tests/python/test_third_party.py', '-q', '-p', 'no:cacheprovider'], {
    cwd: REPO, encoding: 'utf8', timeout: 25 * 60_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  expect(r.status, `${r.error ?? ''} ${r.signal ?? ''}\n${r.stdout}\n${r.stderr}`).toBe(0);
}, 26 * 60_000);
