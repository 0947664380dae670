/**
 * The wire format of a file's site table: what instrumented code passes to `file()` once per
 * file. It is one string literal, not an array of object literals: a bundler parses, renders
 * and minifies a string as a single token, where tens of thousands of small objects cost it
 * more than the rest of the instrumented code (and three times their size in the bundle).
 *
 * The string is `|`-separated records. The first holds the file's options:
 * `<lang> <returns 0|1> <exceptions 0|1> <valueLength> <eventsPerSpan>`. Each next record is
 * one site, in site-id order: a one-letter code, the original line, then for a function its
 * name and parameter names, for a variable its name, all separated by spaces:
 *   `f12 Cart.add item qty`  function (`g`: generator function)
 *   `v14 total`              variable
 *   `i15`                    branch or loop: the letter is its kind (BRANCH_CODES, LOOP_CODES)
 * A parameter or variable whose value is redacted is written with a leading `!`. Names are
 * escaped as in a URL for `%`, space, `|` and `!`.
 */

export interface FnSite { t: 'f'; n: string; l: number; a: string[]; r?: number[]; g?: 1 }
export interface VarSite { t: 'v'; n: string; l: number; r?: 1 }
export interface BranchSite { t: 'b'; k: string; l: number }
export interface LoopSite { t: 'l'; k: string; l: number }
export type SiteData = FnSite | VarSite | BranchSite | LoopSite;

export interface FileOptions { lang: string; returns: boolean; exceptions: boolean; valueLength: number; events: number }

const BRANCH_CODES: Record<string, string> = {
  if: 'i', 'else if': 'j', else: 'e', case: 'c', default: 'd', ternary: 't', 'ternary else': 'u',
};
const LOOP_CODES: Record<string, string> = {
  for: 'o', 'for-in': 'n', 'for-of': 'q', 'for-await': 'a', while: 'w', 'do-while': 'x',
};
const KIND_OF_CODE = new Map<string, ['b' | 'l', string]>([
  ...Object.entries(BRANCH_CODES).map(([k, c]) => [c, ['b', k]] as [string, ['b', string]]),
  ...Object.entries(LOOP_CODES).map(([k, c]) => [c, ['l', k]] as [string, ['l', string]]),
]);

const escapeName = (name: string) => name.replace(/[% |!]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
const unescapeName = (text: string) => (text.includes('%') ? decodeURIComponent(text) : text);

function encodeSite(site: SiteData): string {
  switch (site.t) {
    case 'f': {
      const args = site.a.map((a, i) => (site.r?.includes(i) ? '!' : '') + escapeName(a));
      return [`${site.g === 1 ? 'g' : 'f'}${site.l}`, escapeName(site.n), ...args].join(' ');
    }
    case 'v':
      return `v${site.l} ${site.r === 1 ? '!' : ''}${escapeName(site.n)}`;
    case 'b':
      return `${BRANCH_CODES[site.k]}${site.l}`;
    case 'l':
      return `${LOOP_CODES[site.k]}${site.l}`;
  }
}

/** Build time: the table's string. */
export function encodeSiteTable(sites: SiteData[], opts: FileOptions): string {
  const head = `${escapeName(opts.lang)} ${opts.returns ? 1 : 0} ${opts.exceptions ? 1 : 0} ${opts.valueLength} ${opts.events}`;
  return [head, ...sites.map(encodeSite)].join('|');
}

/** Run time, once per file when it loads. */
export function decodeSiteTable(table: string): { sites: SiteData[]; opts: FileOptions } {
  const records = table.split('|');
  const [lang, returns, exceptions, valueLength, events] = records[0].split(' ');
  const opts = { lang: unescapeName(lang), returns: returns === '1', exceptions: exceptions === '1', valueLength: +valueLength, events: +events };
  const sites = new Array<SiteData>(records.length - 1);
  for (let i = 1; i < records.length; i++) {
    const rec = records[i];
    const code = rec[0];
    if (code === 'f' || code === 'g' || code === 'v') {
      const [line, name, ...rest] = rec.slice(1).split(' ');
      if (code === 'v') {
        const redacted = name[0] === '!';
        sites[i - 1] = redacted ? { t: 'v', n: unescapeName(name.slice(1)), l: +line, r: 1 } : { t: 'v', n: unescapeName(name), l: +line };
        continue;
      }
      const site: FnSite = { t: 'f', n: unescapeName(name), l: +line, a: rest.map((a) => unescapeName(a[0] === '!' ? a.slice(1) : a)) };
      const r = rest.flatMap((a, j) => (a[0] === '!' ? [j] : []));
      if (r.length) site.r = r;
      if (code === 'g') site.g = 1;
      sites[i - 1] = site;
    } else {
      const [t, k] = KIND_OF_CODE.get(code)!;
      sites[i - 1] = { t, k, l: +rec.slice(1) } as BranchSite | LoopSite;
    }
  }
  return { sites, opts };
}
