import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/core/config.js';
import { instrument } from '../src/core/index.js';
import { declaredEncoding, instrumentPython, type PyInstrumentResult } from '../src/core/python/index.js';

const ctx = (config = {}) => ({ filename: 'm.py', relativePath: 'm.py', config: resolveConfig(config), runtime: '_cti_rt', sourceMap: false });
const run = (code: string, config = {}) => instrumentPython(code, ctx(config));

/** The invariant the loader relies on: dropping the inserted bytes of the output lines mapped to a line gives that line back (indentation aside). */
function originalBack(r: PyInstrumentResult): Map<number, string> {
  const back = new Map<number, string>();
  r.code.split('\n').forEach((line, i) => {
    const bytes = Buffer.from(line, 'utf8');
    let kept = Buffer.alloc(0);
    let at = 0;
    for (const [s, e] of r.lineMap!.inserted[i + 1] ?? []) {
      kept = Buffer.concat([kept, bytes.subarray(at, s)]);
      at = e;
    }
    kept = Buffer.concat([kept, bytes.subarray(at)]);
    const orig = r.lineMap!.lines[i]!;
    back.set(orig, (back.get(orig) ?? '') + kept.toString('utf8'));
  });
  return back;
}

const SAMPLE = `"""doc"""
from __future__ import annotations
import os


class C:
    """C doc."""
    A = 1

    def m(self, a, *rest, k=1, **kw):
        """m doc."""
        x, (y, z) = a, (1, 2)
        self.v = x if y else z
        if x: return 1
        elif y:
            s = """two
lines"""
        else:
            pass
        for i in rest: x += i
        while x > 0:
            x -= 1
        with open(os.devnull) as f, open(os.devnull) as (g):
            pass
        try:
            pass
        except (ValueError, TypeError) as e:
            pass
        return (n := x)


def gen(n):
    got = yield n
    yield from range(n)
    return got

def one(v): return v
`;

describe('python instrumenter', () => {
  it('wraps functions, keeps docstrings, __future__ and class bodies in place', async () => {
    const r = await run(SAMPLE);
    expect(r.instrumented).toBe(true);
    expect(r.stats).toEqual({ functions: 3, variables: 13, branches: 4, loops: 2 });
    const out = r.code.split('\n');
    expect(out[0]).toBe('"""doc"""');
    expect(out[1]).toBe('from __future__ import annotations; _cti = __import__("_cti_rt").module("m.py")');
    expect(out.slice(5, 11)).toEqual(SAMPLE.split('\n').slice(5, 11)); // class header, docstring, A = 1, def m, docstring
    expect(out[11]).toBe('        _cti_s = _cti.enter(("C.m", 10, ("self", "a", "rest", "k", "kw")), self, a, rest, k, kw)');
    expect(r.code).toContain('            s = """two\nlines"""; _cti.v(_cti_s, "s", s, 16)');
    expect(r.code).toContain('_cti.r(_cti_s, (yield _cti.y(_cti_s, (n))))');
    expect(r.code).toContain('_cti.r(_cti_s, (yield from _cti.y(_cti_s, (range(n)))))');
    expect(r.code).toContain('def one(v): \n    _cti_s = _cti.enter(("one", 37, ("v",)), v)\n    try:\n        return _cti.ret(_cti_s, (v))');
  });

  it('maps every output line back to its original line and columns', async () => {
    const r = await run(SAMPLE);
    const back = originalBack(r);
    SAMPLE.split("\n").slice(0, -1).forEach((line, i) => {
      expect(back.get(i + 1)?.trim(), `line ${i + 1}`).toBe(line.trim());
    });
  });

  it('keeps tabs and CRLF line ends', async () => {
    const tabs = 'def f(a):\r\n\tif a:\r\n\t\treturn 1\r\n\treturn 2\r\n';
    const r = await run(tabs);
    expect(r.code).toContain('\r\n\t_cti_s = _cti.enter(("f", 1, ("a",)), a)\r\n\ttry:\r\n\t\tif a:\r\n\t\t\t_cti.b(_cti_s, "if", 2)\r\n');
    expect(r.code).not.toMatch(/[^\r]\n/);
  });

  it('passes a file that does not parse through, with its line and a reason', async () => {
    const r = await run('def ok():\n    return 1\n\ndef broken(:\n    pass\n');
    expect(r.instrumented).toBe(false);
    expect(r.code).toBe('def ok():\n    return 1\n\ndef broken(:\n    pass\n');
    expect(r.diagnostics[0]).toMatchObject({ line: 4, severity: 'error' });
    expect(r.diagnostics[0]!.message).toMatch(/passed through uninstrumented/);
  });

  it('leaves a function alone when its docstring shares a line with code', async () => {
    const r = await run('def f(): "doc"; return 1\n\ndef g():\n    return 2\n');
    expect(r.stats.functions).toBe(1);
    expect(r.diagnostics).toEqual([expect.objectContaining({ line: 1, severity: 'warning' })]);
  });

  it('honours capture flags and is reachable through instrument()', async () => {
    const r = await run(SAMPLE, { capture: { variables: false, branches: false, loops: false } });
    expect(r.stats).toEqual({ functions: 3, variables: 0, branches: 0, loops: 0 });
    expect(r.code).not.toMatch(/_cti\.(v|pv|b|l)\(/);
    const viaCore = await instrument(SAMPLE, { filename: '/p/m.py', root: '/p' });
    expect(viaCore.language).toBe('python');
    expect(viaCore.instrumented).toBe(true);
  });

  it('reads PEP 263 encoding declarations', () => {
    expect(declaredEncoding(Buffer.from('# -*- coding: latin-1 -*-\nx = 1\n'))).toBe('latin1');
    expect(declaredEncoding(Buffer.from('#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\n'))).toBe('cp1252');
    expect(declaredEncoding(Buffer.from('x = 1\n# coding: latin-1\n'))).toBe('utf-8');
  });
});
