import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SpanData } from '../../src/runtime/span-data.js';
import { runBoth } from '../helpers/run-both.js';
import { runBothPy } from '../helpers/run-both-py.js';
import { buildBoth, runTraced, tmpDir } from '../helpers/go.js';
import { join } from 'node:path';

interface Expected {
  name: string;
  args?: Record<string, string>;
  return?: string;
  status?: 'OK' | 'ERROR';
  exception?: string;
  branches?: string[];
  loops?: number[];
  vars?: [string, string][];
  children?: Expected[];
}

const spec = JSON.parse(readFileSync(new URL('spec.json', import.meta.url), 'utf8')) as { tree: Expected[] };

/** Language runners: each instruments and runs programs/<file> and returns its source and spans. */
const LANGUAGES: { lang: string; file: string; definition: (name: string) => RegExp; run: (source: string) => Promise<{ spans: SpanData[]; same: () => void }>; branchKinds?: Record<string, string> }[] = [
  {
    lang: 'javascript',
    file: 'program.mjs',
    definition: (name) => new RegExp(`^function ${name}\\(`),
    run: async (source) => {
      const r = await runBoth({ 'main.mjs': source }, 'main.mjs');
      return { spans: r.spans, same: () => expect(r.instrumented).toEqual(r.original) };
    },
  },
  {
    lang: 'python',
    file: 'program.py',
    definition: (name) => new RegExp(`^def ${name}\\(`),
    run: async (source) => {
      const r = runBothPy({ 'main.py': source }, 'main.py');
      return { spans: r.spans, same: () => expect(r.instrumented).toEqual(r.original) };
    },
    // The spec's kinds are JavaScript's; Python's own names for the same branches.
    branchKinds: { elif: 'else if' },
  },
  {
    lang: 'go',
    file: 'program.go',
    definition: (name) => new RegExp(`^func ${name}\\(`),
    run: async (source) => {
      const dir = tmpDir('conformance');
      writeFileSync(join(dir, 'go.mod'), 'module example.com/conformance\n\ngo 1.21\n');
      writeFileSync(join(dir, 'main.go'), source);
      const bins = buildBoth(dir);
      const plain = runTraced(bins.plain);
      const run = runTraced(bins.instrumented);
      const spans = run.spans.map((s) => ({ ...s, name: s.name.replace(/^main\./, '') }));
      return { spans, same: () => expect({ ...run, spans: [] }).toEqual({ ...plain, spans: [] }) };
    },
  },
];

function check(expected: Expected[], actual: SpanData[], all: SpanData[], lines: string[], def: (n: string) => RegExp, path: string, kinds: Record<string, string> = {}) {
  expect(actual.map((s) => s.name), `${path}: children`).toEqual(expected.map((e) => e.name));
  expected.forEach((e, i) => {
    const s = actual[i];
    const where = `${path}/${e.name}[${i}]`;
    const line = lines.findIndex((l) => def(e.name).test(l)) + 1;
    expect(s.attributes['code.line.number'], `${where}: line`).toBe(line);
    expect(s.status.code, `${where}: status`).toBe(e.status ?? 'OK');
    for (const [k, v] of Object.entries(e.args ?? {})) expect(s.attributes[`cti.arg.${k}`], `${where}: arg ${k}`).toBe(v);
    if (e.return !== undefined) expect(s.attributes['cti.return'], `${where}: return`).toBe(e.return);
    const ev = (name: string) => s.events.filter((x) => x.name === name).map((x) => x.attributes);
    if (e.branches) expect(ev('cti.branch').map((a) => kinds[a['cti.branch.kind'] as string] ?? a['cti.branch.kind']), `${where}: branches`).toEqual(e.branches);
    if (e.loops) expect(ev('cti.loop').map((a) => a['cti.loop.iterations']), `${where}: loops`).toEqual(e.loops);
    if (e.vars) expect(ev('cti.var').map((a) => [a['cti.var.name'], a['cti.var.value']]), `${where}: vars`).toEqual(e.vars);
    if (e.exception) expect(ev('exception').map((a) => a['exception.message']), `${where}: exception`).toEqual([e.exception]);
    const kids = all.filter((c) => c.parent_span_id === s.span_id).sort((a, b) => (BigInt(a.start_time_unix_nano) < BigInt(b.start_time_unix_nano) ? -1 : 1));
    check(e.children ?? [], kids, all, lines, def, where, kinds);
    for (const k of kids) expect(k.trace_id).toBe(s.trace_id);
  });
}

describe('conformance: the same span tree in every language', () => {
  for (const language of LANGUAGES) {
    it(language.lang, { timeout: 600_000 }, async () => {
      const source = readFileSync(new URL(`programs/${language.file}`, import.meta.url), 'utf8');
      const { spans, same } = await language.run(source);
      same();
      const roots = spans.filter((s) => s.parent_span_id === null);
      check(spec.tree, roots, spans, source.split('\n'), language.definition, language.lang, language.branchKinds);
    });
  }
});
