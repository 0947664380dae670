import { getRandomValues } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { types } from 'node:util';
import type { Platform } from './core.js';
import { preview } from './preview.js';

// process.hrtime() without an argument is the cheapest clock Node offers (about 2/3 of
// performance.now(); passing it a start time adds validation). now() counts from the whole
// second hrtime started in.
const hrtime = process.hrtime;
const hr0 = hrtime();
const unixAtHr0 = performance.timeOrigin + performance.now();
const sec0 = hr0[0];

/** Clocks, randomness and previews of the Node runtime (the benchmark uses it too). */
export const platform: Platform = {
  now: () => {
    const t = hrtime();
    return (t[0] - sec0) * 1e3 + t[1] * 1e-6;
  },
  timeOrigin: unixAtHr0 - hr0[1] * 1e-6,
  fillRandom: (out) => void getRandomValues(out),
  preview,
  later: (fn, ms) => void setTimeout(fn, ms).unref(),
  isGeneratorObject: types.isGeneratorObject,
};

