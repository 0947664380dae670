/**
 * The Python side (import hook, runtime, behaviour on every CPython here) is tested with pytest
 * in tests/python; this runs it as part of `npm test`, installing pytest with pip when missing.
 */
import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { REPO } from './helpers/run-both.js';
import { PYTHON } from './helpers/run-both-py.js';

it('pytest tests/python', () => {
  if (spawnSync(PYTHON, ['-m', 'pytest', '--version']).status !== 0) {
    const pip = spawnSync(PYTHON, ['-m', 'pip', 'install', '--quiet', 'pytest'], { encoding: 'utf8' });
    expect(pip.status, pip.stderr).toBe(0);
  }
  const r = spawnSync(PYTHON, ['-m', 'pytest', 'tests/python', '-q', '-p', 'no:cacheprovider', '--ignore', 'tests/python/test_third_party.py'], { cwd: REPO, encoding: 'utf8', timeout: 20 * 60_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  expect(r.status, `${r.error ?? ''} ${r.signal ?? ''}\n${r.stdout}\n${r.stderr}`).toBe(0);
}, 21 * 60_000);
