import { readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';

export type ModuleType = 'esm' | 'cjs';

/**
 * Node's own rule: .mjs is ESM, .cjs is CommonJS, and .js/.jsx follow the "type" of the
 * nearest package.json. Other extensions are left to the instrumenter (the syntax decides).
 * Lookups are remembered per directory: a tree shares a handful of package.json files.
 */
export class ModuleTypeResolver {
  private readonly byDir = new Map<string, ModuleType>();

  forFile(file: string): ModuleType | undefined {
    const ext = extname(file).toLowerCase();
    if (ext === '.mjs') return 'esm';
    if (ext === '.cjs') return 'cjs';
    if (ext !== '.js' && ext !== '.jsx') return undefined;
    return this.forDir(dirname(file));
  }

  private forDir(dir: string): ModuleType {
    const known = this.byDir.get(dir);
    if (known) return known;
    let type: ModuleType;
    const pkg = readPackageType(join(dir, 'package.json'));
    if (pkg !== undefined) type = pkg === 'module' ? 'esm' : 'cjs';
    else type = dirname(dir) === dir ? 'cjs' : this.forDir(dirname(dir));
    this.byDir.set(dir, type);
    return type;
  }
}

/** The "type" field; null when the file exists without one; undefined when there is no readable file. */
function readPackageType(file: string): string | null | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const type = (JSON.parse(text) as { type?: unknown }).type;
    return typeof type === 'string' ? type : null;
  } catch {
    return null; // Node refuses such a package; CommonJS is the least surprising guess.
  }
}
