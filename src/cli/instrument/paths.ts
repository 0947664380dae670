import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';

/** Real path of `p` even when its tail does not exist yet (an --out about to be created). */
export function realpathLoose(p: string): string {
  try {
    return realpathSync.native(p);
  } catch {
    const parent = dirname(p);
    return parent === p ? p : join(realpathLoose(parent), basename(p));
  }
}

/** True when `child` is `parent` or lies below it. Both must be absolute real paths. */
export function isWithin(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

/** Forward slashes: globs, messages and code.file.path use them on every platform. */
export const toPosix = (p: string) => p.split(sep).join('/');
