/** The browser runtime's value previews (src/runtime/browser-platform.ts) never run the program's code. */
import { describe, expect, it } from 'vitest';
import { preview, platform } from '../src/runtime/browser-platform.js';

describe('browser previews', () => {
  it('shows own enumerable data properties at depth 1, getters unread', () => {
    let calls = 0;
    const obj = { a: 1, s: 'x', nested: { deep: { x: 1 }, n: 2 }, list: [1, [2]], f() {}, get g() { calls++; return 1; } };
    expect(preview(obj, 200)).toBe("{ a: 1, s: 'x', nested: { deep: [Object], n: 2 }, list: [ 1, [Array] ], f: [Function f], g: [Getter] }");
    expect(preview({ e: new TypeError('no') }, 200)).toBe('{ e: TypeError: no }');
    expect(calls).toBe(0);
  });

  it('names classes, functions, arrays, errors and built-ins through descriptors only', () => {
    class Point { constructor(public x: number, public y: number) {} }
    expect(preview(new Point(1, 2), 200)).toBe('Point { x: 1, y: 2 }');
    expect(preview(function named() {}, 200)).toBe('[Function named]');
    expect(preview(Array.from({ length: 12 }, (_, i) => i), 200)).toBe('[ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, … 2 more items ]');
    expect(preview(new RangeError('bad'), 200)).toBe('RangeError: bad');
    expect(preview(new Map([[1, 2]]), 200)).toBe('Map(1) {…}');
    expect(preview(new Date(0), 200)).toBe('1970-01-01T00:00:00.000Z');
    expect(preview(Object.create(null), 200)).toBe('[Object: null prototype] {}');
    const self: Record<string, unknown> = {};
    self.self = self;
    expect(preview(self, 200)).toBe('{ self: [Circular] }');
  });

  it('stops at 10 properties and at the length limit', () => {
    const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]));
    expect(preview(many, 1000)).toMatch(/k9: 9, … }$/);
    expect(preview(many, 20).length).toBeLessThan(60);
  });

  it('a constructor name behind a getter is not read; a throwing Proxy is unpreviewable', () => {
    let calls = 0;
    class Sneaky {}
    Object.defineProperty(Sneaky, 'name', { get() { calls++; return 'X'; } });
    expect(preview(new Sneaky(), 200)).toBe('{}');
    const hostile = new Proxy({}, { ownKeys() { throw new Error('trap'); } });
    expect(preview(hostile, 200)).toBe('[unpreviewable]');
    expect(calls).toBe(0);
  });

  it('tells generator objects apart without running their code', () => {
    function* gen() { yield 1; }
    async function* agen() { yield 1; }
    expect(platform.isGeneratorObject!(gen())).toBe(true);
    expect(platform.isGeneratorObject!(agen())).toBe(true);
    expect(platform.isGeneratorObject!({ next() {} })).toBe(false);
  });
});
