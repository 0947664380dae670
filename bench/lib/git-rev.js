import { execFileSync } from 'node:child_process';

/** The commit a benchmark ran on, marked when src/ had uncommitted changes; null outside git. */
export function gitRev(repo) {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repo, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${rev} (+ uncommitted changes in src/)` : rev;
  } catch {
    return null;
  }
}
