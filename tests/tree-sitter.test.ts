import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ANONYMOUS,
  findFunctions,
  languageForFile,
  languageInfo,
  languages,
  loadLanguage,
  parse,
  query,
  syntaxErrors,
} from '../src/core/tree-sitter/index.js';

const GRAMMARS = fileURLToPath(new URL('../grammars/', import.meta.url));
const require = createRequire(import.meta.url);

/** Per language: a sample, and the [name, 1-based start line] of each function findFunctions must report, in order. */
const SAMPLES: Record<string, { file: string; code: string; functions: [string, number][] }> = {
  python: {
    file: 'app.py',
    code: `import functools

def deco(f):
    return f

class Greeter:
    @deco
    def greet(self, name: str) -> str:
        def shout(s):
            return s.upper()
        return shout(name)

    @staticmethod
    async def fetch(url):
        square = lambda z: z * z
        return square(2)

async def main():
    print(sorted([3, 1], key=lambda v: -v))
`,
    functions: [['deco', 3], ['greet', 8], ['shout', 9], ['fetch', 14], ['square', 15], ['main', 18], [ANONYMOUS, 19]],
  },
  go: {
    file: 'main.go',
    code: `package main

import "fmt"

type Counter struct{ n int }

func (c *Counter) Inc() {
	c.n++
}

func Map[K comparable, V any](m map[K]V) []V {
	var out []V
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func main() {
	double := func(x int) int { return x * 2 }
	defer func() {
		fmt.Println("done")
	}()
	fmt.Println(double(2))
}
`,
    functions: [['Inc', 7], ['Map', 11], ['main', 19], ['double', 20], [ANONYMOUS, 21]],
  },
  java: {
    file: 'Greeter.java',
    code: `package demo;

import java.util.function.Function;

public class Greeter {
    private final String name;

    public Greeter(String name) {
        this.name = name;
    }

    public String greet(int times) {
        Function<Integer, Integer> twice = x -> x * 2;
        Runnable r = () -> {
            System.out.println(name);
        };
        return name + twice.apply(times);
    }

    static <T> T identity(T value) {
        return value;
    }

    interface Shape {
        default double area() { return 0; }
        double perimeter();
    }
}
`,
    functions: [['Greeter', 8], ['greet', 12], ['twice', 13], ['r', 14], ['identity', 20], ['area', 25]],
  },
  kotlin: {
    file: 'Counter.kt',
    code: `package demo

fun topLevel(x: Int): Int {
    val square = { y: Int -> y * y }
    fun local(z: Int) = z + 1
    return local(square(x))
}

class Counter(private var n: Int) {
    constructor() : this(0) {
        println("secondary")
    }

    fun inc(): Int {
        n += 1
        return n
    }

    val anon = fun(a: Int): Int { return a }
}

fun <T> List<T>.second(): T = this[1]
`,
    functions: [['topLevel', 3], ['square', 4], ['local', 5], ['constructor', 10], ['inc', 14], ['anon', 19], ['second', 22]],
  },
  c_sharp: {
    file: 'Calc.cs',
    code: `using System;

namespace Demo
{
    public class Calc
    {
        public Calc() { }

        public int Add(int a, int b)
        {
            Func<int, int> twice = x => x * 2;
            int Local(int y) { return y + 1; }
            return Local(twice(a + b));
        }

        public static T Id<T>(T v) => v;

        public int Prop { get { return 1; } }
    }
}
`,
    functions: [['Calc', 7], ['Add', 9], ['twice', 11], ['Local', 12], ['Id', 16], ['Prop', 18]],
  },
  ruby: {
    file: 'greeter.rb',
    code: `module Greeting
  class Greeter
    def initialize(name)
      @name = name
    end

    def greet(times = 1)
      shout = lambda { |s| s.upcase }
      twice = ->(x) { x * 2 }
      [1, 2].each do |i|
        puts i
      end
      shout.call(@name) * twice.(times)
    end

    def self.create
      new("x")
    end
  end
end
`,
    functions: [['initialize', 3], ['greet', 7], ['shout', 8], ['twice', 9], ['each', 10], ['create', 16]],
  },
  php: {
    file: 'greeter.php',
    code: `<?php
namespace Demo;

function topLevel(int $x): int {
    $double = function ($y) use ($x) { return $y * 2; };
    $triple = fn($z) => $z * 3;
    return $double($x) + $triple($x);
}

class Greeter {
    public function __construct(private string $name) {}

    public function greet(): string {
        return "Hello " . $this->name;
    }
}
`,
    functions: [['topLevel', 4], ['$double', 5], ['$triple', 6], ['__construct', 11], ['greet', 13]],
  },
  rust: {
    file: 'main.rs',
    code: `struct Counter {
    n: u32,
}

impl Counter {
    fn new() -> Self {
        Counter { n: 0 }
    }

    pub fn inc(&mut self) -> u32 {
        let add = |x: u32| x + 1;
        self.n = add(self.n);
        self.n
    }
}

trait Shape {
    fn name(&self) -> String;
}

fn generic<T: Clone>(v: &T) -> T {
    fn helper() {}
    helper();
    v.clone()
}

fn main() {
    let c = Counter::new();
    vec![1].iter().for_each(|x| println!("{}", x));
}
`,
    functions: [['new', 6], ['inc', 10], ['add', 11], ['generic', 21], ['helper', 22], ['main', 27], [ANONYMOUS, 29]],
  },
  c: {
    file: 'main.c',
    code: `#include <stdio.h>

static int add(int a, int b) {
    return a + b;
}

int *make_ptr(int *p) { return p; }

char **names(void) { return 0; }

int main(int argc, char **argv) {
    printf("%d\\n", add(1, 2));
    return 0;
}
`,
    functions: [['add', 3], ['make_ptr', 7], ['names', 9], ['main', 11]],
  },
  cpp: {
    file: 'widget.cpp',
    code: `#include <vector>

namespace demo {

class Widget {
public:
    Widget() : n(0) {}
    ~Widget() {}
    int size() const { return n; }
    void grow();
    Widget& operator+=(int k) { n += k; return *this; }
private:
    int n;
};

void Widget::grow() {
    auto add = [this](int k) { n += k; };
    add(1);
}

template <typename T>
T twice(T v) {
    return v * 2;
}

}
`,
    functions: [['Widget', 7], ['~Widget', 8], ['size', 9], ['operator+=', 11], ['Widget::grow', 16], ['add', 17], ['twice', 22]],
  },
  javascript: {
    file: 'app.js',
    code: `function add(a, b) {
  return a + b;
}

const mul = (a, b) => a * b;
const sub = function (a, b) { return a - b; };

class Greeter {
  constructor(name) { this.name = name; }
  greet() { return 'hi ' + this.name; }
  handler = () => { return 1; };
}

async function* gen() { yield 1; }
const obj = { m() { return 1; }, q: () => 2 };
[1].map((x) => x + 1);
`,
    functions: [
      ['add', 1], ['mul', 5], ['sub', 6], ['constructor', 9], ['greet', 10], ['handler', 11], ['gen', 14], ['m', 15], ['q', 15],
      [ANONYMOUS, 16],
    ],
  },
  typescript: {
    file: 'app.ts',
    code: `interface Shape {
  area(): number;
}

export function add(a: number, b: number): number {
  return a + b;
}

const id = <T,>(a: T): T => a;

abstract class Base implements Shape {
  abstract area(): number;
  constructor(private readonly n: number) {}
  protected describe(): string { return 'base'; }
  handler = (e: Event): void => {};
}

function overload(x: string): string;
function overload(x: any) { return x; }
`,
    functions: [['add', 5], ['id', 9], ['constructor', 13], ['describe', 14], ['handler', 15], ['overload', 19]],
  },
  tsx: {
    file: 'App.tsx',
    code: `import React from 'react';

export function App({ title }: { title: string }) {
  const onClick = (e: React.MouseEvent) => { console.log(e); };
  return <button onClick={onClick}>{title}</button>;
}

export default class Page extends React.Component {
  render() { return <App title="x" />; }
}
`,
    functions: [['App', 3], ['onClick', 4], ['render', 9]],
  },
  swift: {
    file: 'Counter.swift',
    code: `import Foundation

func greet(name: String) -> String {
    return "Hello \\(name)"
}

class Counter {
    var n = 0
    init(start: Int) {
        n = start
    }
    func inc() -> Int {
        let add = { (x: Int) -> Int in x + 1 }
        n = add(n)
        return n
    }
    var doubled: Int { get { return n * 2 } set { n = newValue / 2 } }
}

struct P {
    func generic<T>(_ v: T) -> T { v }
}
`,
    functions: [['greet', 3], ['init', 9], ['inc', 12], ['add', 13], ['doubled', 17], ['doubled', 17], ['generic', 21]],
  },
  scala: {
    file: 'Main.scala',
    code: `package demo

object Main {
  def add(a: Int, b: Int): Int = a + b

  def greet(name: String): String = {
    def inner(x: Int): Int = x * 2
    name + inner(2)
  }
}

class Counter(var n: Int) {
  def inc(): Unit = { n += 1 }
  def this() = this(0)
}

trait Shape {
  def area: Double
  def name[T](t: T): String = t.toString
}
`,
    functions: [['add', 4], ['greet', 6], ['inner', 7], ['inc', 13], ['this', 14], ['name', 19]],
  },
  bash: {
    file: 'run.sh',
    code: `#!/bin/bash

greet() {
  echo "hi $1"
}

function cleanup {
  rm -f /tmp/x
}

function outer() {
  inner() { echo nested; }
  inner
}

greet world
`,
    functions: [['greet', 3], ['cleanup', 7], ['outer', 11], ['inner', 12]],
  },
};

/** `<capture>@<line>` for every capture whose name has a dot (`branch.if`, `loop.for`, ...), in source order. */
async function kinds(id: string, queryName: string, code: string): Promise<string[]> {
  const q = await query(id, queryName);
  const tree = await parse(code, id);
  try {
    return q
      .captures(tree.rootNode)
      .filter((c) => c.name.includes('.'))
      .map((c) => `${c.name}@${c.node.startPosition.row + 1}`);
  } finally {
    tree.delete();
  }
}

/** `<kind>@<line>=<text of @target>` for each match of an assignments query. */
async function assignments(id: string, code: string): Promise<string[]> {
  const q = await query(id, 'assignments');
  const tree = await parse(code, id);
  try {
    return q.matches(tree.rootNode).map((m) => {
      const kind = m.captures.find((c) => c.name.startsWith('assignment.'))!;
      const target = m.captures.find((c) => c.name === 'target');
      return `${kind.name.slice('assignment.'.length)}@${kind.node.startPosition.row + 1}=${target?.node.text ?? ''}`;
    });
  } finally {
    tree.delete();
  }
}

describe('grammars/languages.json', () => {
  it('lists the expected languages, each with a wasm in tree-sitter-wasms and a functions query', () => {
    expect(languages().map((l) => l.id)).toEqual([
      'python', 'go', 'java', 'kotlin', 'c_sharp', 'ruby', 'php', 'rust', 'c', 'cpp', 'javascript', 'typescript', 'tsx',
      'swift', 'scala', 'bash',
    ]);
    for (const l of languages()) {
      expect(existsSync(require.resolve(`tree-sitter-wasms/out/${l.wasm}`)), l.wasm).toBe(true);
      expect(existsSync(`${GRAMMARS}${l.queries}/functions.scm`), l.id).toBe(true);
      expect(l.extensions.length, l.id).toBeGreaterThan(0);
      for (const ext of l.extensions) expect(ext).toMatch(/^\.[a-z0-9+]+$/);
      expect(['//', '#']).toContain(l.lineComment);
    }
    const extensions = languages().flatMap((l) => l.extensions);
    expect(new Set(extensions).size).toBe(extensions.length);
    expect(Object.keys(SAMPLES).sort()).toEqual(languages().map((l) => l.id).sort());
  });

  it('maps file names to languages by extension', () => {
    expect(languageForFile('src/app/main.py')?.id).toBe('python');
    expect(languageForFile('cmd/server/main.go')?.id).toBe('go');
    expect(languageForFile('Widget.HPP')?.id).toBe('cpp');
    expect(languageForFile('lib/x.h')?.id).toBe('c');
    expect(languageForFile('App.tsx')?.id).toBe('tsx');
    expect(languageForFile('build.gradle.kts')?.id).toBe('kotlin');
    expect(languageForFile('notes.txt')).toBeUndefined();
    expect(languageForFile('Makefile')).toBeUndefined();
    expect(languageForFile('archive.tar.gz')).toBeUndefined();
    expect(languageInfo('python')?.lineComment).toBe('#');
    expect(languageInfo('cobol')).toBeUndefined();
  });

  it('every query file compiles against its grammar', async () => {
    let count = 0;
    for (const l of languages()) {
      for (const file of readdirSync(`${GRAMMARS}${l.queries}`).filter((f) => f.endsWith('.scm'))) {
        const q = await query(l.id, file.slice(0, -'.scm'.length));
        expect(q.captureNames.length, `${l.id}/${file}`).toBeGreaterThan(0);
        count++;
      }
    }
    expect(count).toBe(languages().length + 6);
  });

  it('loads several grammars at once (a fresh process, every load in flight together)', () => {
    // Loads that overlap once mixed up the grammars' scanner symbols; vitest's worker has some loaded already.
    const script = `import { parse } from ${JSON.stringify(new URL('../dist/core/tree-sitter/index.js', import.meta.url).href)};
      const ids = ['c', 'cpp', 'rust', 'php', 'ruby', 'java', 'bash', 'python', 'go'];
      const r = await Promise.allSettled(ids.map((id) => parse('', id)));
      console.log(JSON.stringify(r.map((x, i) => ids[i] + ':' + (x.status === 'fulfilled' ? 'ok' : x.reason.message))));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(['c', 'cpp', 'rust', 'php', 'ruby', 'java', 'bash', 'python', 'go'].map((id) => `${id}:ok`));
  });

  it('rejects unknown languages and queries', async () => {
    await expect(loadLanguage('cobol')).rejects.toThrow(/Unknown tree-sitter language "cobol"/);
    await expect(query('java', 'branches')).rejects.toThrow(/No "branches" query for java: .*java\/branches\.scm/);
  });
});

describe('findFunctions', () => {
  for (const [id, sample] of Object.entries(SAMPLES)) {
    it(`${id}: parses the sample and finds its functions`, async () => {
      expect(languageForFile(sample.file)?.id).toBe(id);
      const tree = await parse(sample.code, id);
      try {
        expect(syntaxErrors(tree)).toEqual([]);
      } finally {
        tree.delete();
      }
      const functions = await findFunctions(sample.code, id);
      expect(functions.map((f) => [f.name, f.startLine])).toEqual(sample.functions);
      for (const f of functions) {
        expect(f.startIndex).toBeLessThanOrEqual(f.bodyStartIndex);
        expect(f.bodyStartIndex).toBeLessThan(f.bodyEndIndex);
        expect(f.bodyEndIndex).toBeLessThanOrEqual(f.endIndex);
        expect(f.endLine).toBeGreaterThanOrEqual(f.startLine);
        expect(f.nodeType).toMatch(/^[a-z_]+$/);
      }
    });
  }

  it('reports body offsets into the source string, also after non-ASCII text', async () => {
    const code = 'package main\n\n// héllo 😀\nfunc f() {\n\tprintln("ü")\n}\n';
    const [f] = await findFunctions(code, 'go');
    expect(code.slice(f!.startIndex, f!.endIndex)).toBe('func f() {\n\tprintln("ü")\n}');
    expect(code.slice(f!.bodyStartIndex, f!.bodyEndIndex)).toBe('{\n\tprintln("ü")\n}');
    expect([f!.startLine, f!.endLine, f!.nodeType]).toEqual([4, 6, 'function_declaration']);
  });

  it('parses the same source again identically once every grammar is loaded', async () => {
    for (const l of languages()) await loadLanguage(l.id);
    for (const [id, sample] of Object.entries(SAMPLES)) {
      const again = await findFunctions(sample.code, id);
      expect(again.map((f) => [f.name, f.startLine]), id).toEqual(sample.functions);
    }
  });
});

const PY_CONTROL = `def f(items, n):
    if (count := len(items)) > n:
        total = 0
    elif count == n:
        total: int = 1
    else:
        total = 2
    match n:
        case 1:
            pass
        case _:
            pass
    for i, item in enumerate(items):
        total += item
    while total > 0:
        total -= 1
    with open("a") as fa, open("b") as fb:
        pass
    try:
        pass
    except ValueError as err:
        pass
    a = b = total if total else 0
    self.x = [j for j in items]
    return total
`;

const GO_CONTROL = `package main

func f(items []int, ch chan int, i interface{}) int {
	total, n := 0, len(items)
	var a, b = 1, 2
	var c int
	if n > 0 {
		total = 1
	} else if n < 0 {
		total = 2
	} else {
		total = 3
	}
	switch n {
	case 1, 2:
		total++
	default:
		total--
	}
	switch v := i.(type) {
	case int:
		total += v
	default:
	}
	select {
	case x := <-ch:
		total *= x
	case ch <- 1:
	default:
	}
	for k, v := range items {
		_, _ = k, v
	}
	for j := 0; j < n; j++ {
	}
	for total < 10 {
	}
	for {
		break
	}
	return total + a + b + c
}
`;

describe('python queries', () => {
  it('branches: if / elif / else / match case', async () => {
    expect(await kinds('python', 'branches', PY_CONTROL)).toEqual([
      'branch.if@2', 'branch.elif@4', 'branch.else@6', 'branch.case@9', 'branch.case@11', 'branch.conditional@23',
    ]);
  });

  it('loops: for / while', async () => {
    expect(await kinds('python', 'loops', PY_CONTROL)).toEqual(['loop.for@13', 'loop.while@15']);
  });

  it('assignments: plain, annotated, augmented, walrus, for targets, with-as, except-as', async () => {
    expect(await assignments('python', PY_CONTROL)).toEqual([
      'walrus@2=count',
      'plain@3=total',
      'annotated@5=total',
      'plain@7=total',
      'for@13=i, item',
      'augmented@14=total',
      'augmented@16=total',
      'with@17=fa',
      'with@17=fb',
      'except@21=err',
      'plain@23=a',
      'plain@23=b',
      'plain@24=self.x',
    ]);
  });

  it('captures the block of each branch and loop as @body', async () => {
    const q = await query('python', 'loops');
    const tree = await parse(PY_CONTROL, 'python');
    try {
      const bodies = q.matches(tree.rootNode).map((m) => m.captures.find((c) => c.name === 'body')!.node.text);
      expect(bodies).toEqual(['total += item', 'total -= 1']);
    } finally {
      tree.delete();
    }
  });
});

describe('go queries', () => {
  it('branches: if / else, expression and type switch cases, select cases, default', async () => {
    expect(await kinds('go', 'branches', GO_CONTROL)).toEqual([
      'branch.if@7', 'branch.if@9', 'branch.else@11', 'branch.case@15', 'branch.default@17', 'branch.type_case@21',
      'branch.default@23', 'branch.communication_case@26', 'branch.communication_case@28', 'branch.default@29',
    ]);
  });

  it('loops: range, three-clause, condition-only and infinite for', async () => {
    expect(await kinds('go', 'loops', GO_CONTROL)).toEqual(['loop.range@31', 'loop.for@34', 'loop.for@36', 'loop.for@38']);
  });

  it('assignments: short var, assign, op-assign, var spec, inc/dec, range, receive, type switch', async () => {
    expect(await assignments('go', GO_CONTROL)).toEqual([
      'short_var@4=total, n',
      'var@5=',
      'var@6=',
      'assign@8=total',
      'assign@10=total',
      'assign@12=total',
      'inc@16=total',
      'dec@18=total',
      'type_switch@20=v',
      'augmented@22=total',
      'receive@26=x',
      'augmented@27=total',
      'range@31=k, v',
      'assign@32=_, _',
      'short_var@34=j',
      'inc@34=j',
    ]);
  });
});

describe('syntaxErrors', () => {
  it('reports the line of a Python syntax error', async () => {
    const tree = await parse('def ok():\n    return 1\n\ndef broken(:\n    pass\n', 'python');
    try {
      const errors = syntaxErrors(tree);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors[0]!.line).toBe(4);
    } finally {
      tree.delete();
    }
  });

  it('reports a missing token in Go with its position', async () => {
    const tree = await parse('package main\n\nfunc main() {\n\tprintln("hi"\n}\n', 'go');
    try {
      expect(syntaxErrors(tree)).toEqual([{ line: 4, column: 14, message: 'missing ")"' }]);
    } finally {
      tree.delete();
    }
  });

  it('reports an unexpected token in Rust', async () => {
    const tree = await parse('fn main() {\n    let x = ;\n}\n', 'rust');
    try {
      const errors = syntaxErrors(tree);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ line: 2, message: expect.stringContaining('syntax error') });
    } finally {
      tree.delete();
    }
  });

  it('is empty for valid code', async () => {
    const tree = await parse('x = 1\n', 'python');
    try {
      expect(syntaxErrors(tree)).toEqual([]);
    } finally {
      tree.delete();
    }
  });
});
