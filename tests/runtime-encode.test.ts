import { describe, expect, it } from 'vitest';
import * as rt from '../src/runtime/core.js';
import { makeClock, spanJsonLine, toSpanData } from '../src/runtime/encode.js';
import { encodeSiteTable } from '../src/runtime/site-table.js';

describe('span encoding', () => {
  it('the JSONL fast path writes exactly what JSON.stringify of the span object writes', () => {
    const finished: rt.Span[] = [];
    rt.configure({
      platform: {
        now: () => performance.now(),
        timeOrigin: performance.timeOrigin,
        fillRandom: (out) => crypto.getRandomValues(out),
        preview: (v) => `preview "${Object.keys(v).join(',')}"\n`,
        later: () => {},
      },
      sink: (spans) => finished.push(...spans),
      sampleRoot: () => true,
    });
    const file = rt.file('src/a "quoted".js', encodeSiteTable([
      { t: 'f', n: 'outer', l: 1, a: ['x', 'obj', 'password'], r: [2] },
      { t: 'f', n: 'Inner.#m', l: 5, a: [] },
      { t: 'v', n: 'y', l: 2 },
      { t: 'b', k: 'else if', l: 3 },
      { t: 'l', k: 'for-of', l: 4 },
    ], { lang: 'javascript', returns: true, exceptions: true, valueLength: 20, events: 3 }));
    const outer = rt.enter(file, 0, 'a "string"\nwith a newline', { k: 1 }, 'hunter2');
    const inner = rt.enter(file, 1);
    rt.exit(inner); // ends without returning: an error waiting for its exception
    rt.c(outer, 2, new TypeError('bad "thing"'));
    rt.v(outer, 2, 10n);
    rt.b(outer, 3);
    for (let i = 0; i < 5; i++) rt.l(outer, 4);
    rt.v(outer, 2, undefined); // beyond the limit of 3: dropped
    rt.ret(outer, 'x'.repeat(50));
    rt.exit(outer);
    rt.flush();
    expect(finished).toHaveLength(2);
    const clock = makeClock(performance.timeOrigin);
    const resource = { 'service.name': 'svc "x"', 'process.pid': 42 };
    for (const s of finished) {
      expect(spanJsonLine(s, clock, JSON.stringify(resource))).toBe(JSON.stringify(toSpanData(s, clock, resource)));
    }
    const [innerData, outerData] = finished.map((s) => toSpanData(s, clock, resource));
    expect(innerData.status).toEqual({ code: 'ERROR', message: 'TypeError: bad "thing"' });
    expect(innerData.parent_span_id).toBe(outerData.span_id);
    expect(outerData.attributes['cti.arg.password']).toBe('[REDACTED]');
    expect(outerData.attributes['cti.return']).toBe('"xxxxxxxxxxxxxxxxxx…');
    expect(outerData.dropped_events_count).toBe(2);
    expect(outerData.events.map((e) => e.name)).toEqual(['cti.var', 'cti.var', 'cti.branch']);
  });

  it('times are unix nanoseconds, exact to well under a microsecond', () => {
    // The origin is a double of milliseconds since 1970: its last bits are worth about 0.25 µs.
    const clock = makeClock(1_795_698_316_740.123456);
    const near = (got: string, want: bigint) => expect(Math.abs(Number(BigInt(got) - want))).toBeLessThan(500);
    near(clock(0), 1795698316740123456n);
    near(clock(1.5), 1795698316741623456n);
    near(clock(999.876544), 1795698317740000000n);
    expect(clock(999.876544)).toMatch(/^\d{19}$/);
  });
});
