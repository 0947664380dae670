/**
 * Read-only access to the project's sources for the viewer's source view: only regular files
 * inside the root, after symlinks are resolved; never an absolute path, `..`, or a NUL.
 */
import { realpathSync, statSync, readFileSync } from 'node:fs';
import { isAbsolute, join, normalize, sep } from 'node:path';

export class SourceError extends Error {
  constructor(readonly status: 400 | 403 | 404 | 413, message: string) {
    super(message);
  }
}

const MAX_SOURCE_BYTES = 2 * 1024 * 1024;

export class SourceRoot {
  readonly dir: string;

  constructor(root: string) {
    this.dir = realpathSync(root);
  }

  /** The text of `path` (relative to the root, `/`-separated as in `code.file.path`). */
  read(path: string): string {
    return this.readBytes(path).toString('utf8');
  }

  readBytes(path: string): Buffer {
    if (!path || path.includes('\0')) throw new SourceError(400, 'a relative file path is required');
    if (isAbsolute(path) || /^[a-zA-Z]:/.test(path)) throw new SourceError(403, `${path}: absolute paths are not served`);
    const rel = normalize(path);
    if (rel === '..' || rel.startsWith(`..${sep}`)) throw new SourceError(403, `${path}: outside the project root`);
    let real: string;
    try {
      real = realpathSync(join(this.dir, rel));
    } catch {
      throw new SourceError(404, `${path}: no such file`);
    }
    // A symlink inside the root may point anywhere: judge where it leads.
    if (!real.startsWith(this.dir + sep)) throw new SourceError(403, `${path}: outside the project root`);
    const stat = statSync(real);
    if (!stat.isFile()) throw new SourceError(404, `${path}: not a file`);
    if (stat.size > MAX_SOURCE_BYTES) throw new SourceError(413, `${path}: larger than ${MAX_SOURCE_BYTES} bytes`);
    return readFileSync(real);
  }
}
