/**
 * The per-language statements parse where the prompt says they go, and the entry/exit event
 * streams they print become spans (cti ingest, cti serve --import).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAnswer } from '../src/core/llm/answer.js';
import { checkUnit } from '../src/core/llm/checks.js';
import { place, type Insertion, type Placed } from '../src/core/llm/insertions.js';
import { STATEMENTS } from '../src/core/llm/statements.js';
import { findUnits, Lines } from '../src/core/llm/units.js';
import { EventSpans } from '../src/server/event-spans.js';
import { importJsonl } from '../src/server/jsonl-import.js';
import { TraceStore } from '../src/server/store.js';
import { parse, syntaxErrors } from '../src/core/tree-sitter/index.js';

/** A function per language as the advice says to instrument it: `+` marks the inserted lines. */
const SAMPLES: Record<string, string> = {
  c: 'int f(int x) {\n+ENTER\n+EXIT\n  return x;\n}\n',
  cpp: 'int f(int x) {\n+ENTER\n+EXIT\n  return x;\n}\n',
  java: 'class A {\n  int f(int x) {\n+ENTER\n+try {\n    return x;\n+} finally {\n+EXIT\n+}\n  }\n}\n',
  rust: 'fn f(x: i32) -> i32 {\n+ENTER\n+EXIT\n    x\n}\n',
  ruby: 'def f(x)\n+ENTER\n  x\n+ensure\n+EXIT\nend\n',
  c_sharp: 'class A {\n  int F(int x) {\n+ENTER\n+try {\n    return x;\n+} finally {\n+EXIT\n+}\n  }\n}\n',
  php: '<?php\nfunction f($x) {\n+ENTER\n+try {\n  return $x;\n+} finally {\n+EXIT\n+}\n}\n',
  kotlin: 'fun f(x: Int): Int {\n+ENTER\n+try {\n  return x\n+} finally {\n+EXIT\n+}\n}\n',
  scala: 'object A {\n  def f(x: Int): Int = {\n+ENTER\n+try {\n    x\n+} finally {\n+EXIT\n+}\n  }\n}\n',
  swift: 'func f(x: Int) -> Int {\n+ENTER\n+EXIT\n  return x\n}\n',
  bash: 'f() {\n+ENTER\n  echo "$1"\n+EXIT\n}\n',
};

describe('LLM runtime statements', () => {
  const site = { fn: 'f "q" {x} $y #z %d \\', file: 'src/a b.x', line: 1 };
  const statementsOf = (lang: string) => {
    const s = STATEMENTS[lang]!;
    const exit = s.statement('exit', site);
    return { enter: s.statement('enter', site), exit: s.exitGuard?.(exit, site) ?? exit };
  };
  // Replacer functions: the statements hold `$$` and `$'`, which a replacement string would expand.
  const fill = (line: string, lang: string) => line.slice(1).replace('ENTER', () => statementsOf(lang).enter).replace('EXIT', () => statementsOf(lang).exit);

  for (const [lang, sample] of Object.entries(SAMPLES)) {
    it(`${lang}: entry and exit statements parse in place`, async () => {
      const s = STATEMENTS[lang]!;
      const code = `${(s.prelude ?? []).join('\n')}\n${sample.split('\n').map((l) => (l.startsWith('+') ? fill(l, lang) : l)).join('\n')}`;
      const tree = await parse(code, lang);
      try {
        expect(syntaxErrors(tree), code).toEqual([]);
      } finally {
        tree.delete();
      }
    });

    it(`${lang}: the insertions the advice describes pass every check`, async () => {
      const lines = sample.split('\n');
      const original = lines.filter((l) => !l.startsWith('+')).join('\n');
      const { units: [unit] } = await findUnits(original, lang);
      const insertions: Insertion[] = [];
      let at = 1; // original line number of the next original line
      for (const l of lines) {
        if (!l.startsWith('+')) {
          at++;
          continue;
        }
        const last = insertions.at(-1);
        if (last?.line === at) last.code += `\n${fill(l, lang)}`;
        else insertions.push({ function: 1, line: at, where: 'before', code: fill(l, lang) });
      }
      const text = new Lines(original);
      const placed = insertions.map((i) => place(unit!, i, text)).filter((p): p is Placed => typeof p !== 'string');
      expect(placed).toHaveLength(insertions.length);
      const tree = await parse(original, lang);
      try {
        expect(await checkUnit(original, tree.rootNode, text, lang, STATEMENTS[lang]!, unit!, statementsOf(lang), placed, [])).toEqual([]);
      } finally {
        tree.delete();
      }
    });
  }
  it('covers every language with statements', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(STATEMENTS).sort());
  });
});

describe('answers', () => {
  it('reads JSON alone, fenced, in chatter, or a bare array; flags malformed entries', () => {
    const ins = { function: 1, line: 2, where: 'after', code: 'x();' };
    const bare = JSON.stringify({ insertions: [ins] });
    for (const text of [bare, `\`\`\`json\n${bare}\n\`\`\``, `Here it is: ${bare} Hope this helps!`, JSON.stringify([ins])]) {
      expect(parseAnswer(text)).toEqual({ kind: 'insertions', insertions: [ins], problems: [] });
    }
    const bad = parseAnswer(JSON.stringify({ insertions: [ins, { function: 1, line: 'x' }] }));
    expect(bad.kind === 'insertions' && bad.problems).toHaveLength(1);
    expect(parseAnswer('no json here').kind).toBe('unreadable');
    expect(parseAnswer("I'm sorry, but I can't help with that request.").kind).toBe('refusal');
    expect(parseAnswer('{}', 'policy').kind).toBe('refusal');
  });
});

const ev = (ev: string, fn: string, ts: string, tid = 1) =>
  `{"ev":"cti.${ev}","fn":"${fn}","file":"a.c","line":1,"lang":"c","ts":${ts},"tid":${tid}}`;

describe('entry/exit events to spans', () => {
  it('pairs per thread, keeps nanosecond times, closes calls whose exit is missing as ERROR, and marks unfinished ones', () => {
    const lines = [
      ev('enter', 'main', '1795710638931802848'),
      ev('enter', 'worker', '1795710638931802900', 2),
      ev('enter', 'twice', '1795710638931802849'),
      ev('enter', 'boom', '1795710638931802850'),
      ev('exit', 'twice', '1795710638931802851'), // boom never exited
      ev('exit', 'main', '1795710638931802999'),
      ev('exit', 'nobody', '1795710638931803000'),
    ];
    const events = new EventSpans('svc');
    const problems = lines.map((l) => events.add(JSON.parse(l), l));
    expect(problems.filter(Boolean)).toEqual(['exit of nobody without a matching entry']);
    const spans = events.finish();
    const by = (n: string) => spans.find((s) => s.name === n)!;
    expect(by('main').start_time_unix_nano).toBe('1795710638931802848');
    expect(by('twice').parent_span_id).toBe(by('main').span_id);
    expect(by('boom')).toMatchObject({ parent_span_id: by('twice').span_id, end_time_unix_nano: '1795710638931802851', status: { code: 'ERROR' } });
    expect(by('worker')).toMatchObject({ parent_span_id: null, end_time_unix_nano: '1795710638931803000' });
    expect(by('worker').attributes['cti.unfinished']).toBe(true);
    expect(by('main').resource['service.name']).toBe('svc');
    expect(by('main').trace_id).not.toBe(by('worker').trace_id);
  });

  it('cti serve --import takes event files (format detected per line) next to span files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-events-'));
    try {
      const file = join(dir, 'events.jsonl');
      writeFileSync(file, [ev('enter', 'main', '100'), 'program output', ev('enter', 'f', '110'), ev('exit', 'f', '120'), ev('exit', 'main', '130'), ''].join('\n'));
      const store = new TraceStore(':memory:');
      const r = await importJsonl(file, store);
      expect(r.spans).toBe(2);
      expect(r.skipped).toEqual([{ line: 2, reason: 'not valid JSON' }]);
      const [trace] = store.traces();
      expect(trace).toMatchObject({ root_name: 'main', span_count: 2 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
