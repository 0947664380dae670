import type { SiteData as Site } from '../../runtime/site-table.js';

/**
 * The per-file site table: everything about an instrumented spot that is known at build
 * time (names, original lines, redaction). It is emitted once per file (encoded by
 * src/runtime/site-table.ts), so the code inserted at each spot passes only a small integer.
 */

export class SiteTable {
  readonly sites: Site[] = [];

  constructor(private readonly isSecret: (name: string) => boolean) {}

  fn(name: string, line: number, args: string[], generator: boolean): number {
    const site: Site = { t: 'f', n: name, l: line, a: args };
    const r = args.flatMap((a, i) => (this.isSecret(a) ? [i] : []));
    if (r.length) site.r = r;
    if (generator) site.g = 1;
    return this.push(site);
  }

  variable(name: string, line: number): number {
    return this.push(this.isSecret(name.replace(/^this\./, '')) ? { t: 'v', n: name, l: line, r: 1 } : { t: 'v', n: name, l: line });
  }

  branch(kind: string, line: number): number {
    return this.push({ t: 'b', k: kind, l: line });
  }

  loop(kind: string, line: number): number {
    return this.push({ t: 'l', k: kind, l: line });
  }

  private push(site: Site): number {
    this.sites.push(site);
    return this.sites.length - 1;
  }
}
