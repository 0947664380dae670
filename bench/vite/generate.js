// Deterministic generator of the benchmark's Vite app: N TypeScript modules (classes, functions,
// loops, branches, imports between them) plus index.html and src/main.ts. Same seed, same app.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** mulberry32: a small seeded PRNG. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (i) => String(i).padStart(4, '0');

function moduleSource(i, rnd, n) {
  const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
  const deps = [];
  if (i > 0) {
    const k = Math.min(i, int(1, 3));
    const seen = new Set();
    while (seen.size < k) seen.add(int(Math.max(0, i - 40), i - 1));
    deps.push(...[...seen].sort((a, b) => a - b));
  }
  const lines = [];
  lines.push(`// generated module ${i} of ${n}`);
  for (const d of deps) lines.push(`import { Model${pad(d)}, score${pad(d)} } from './m${pad(d)}';`);
  lines.push('');
  lines.push(`export interface Item${pad(i)} {\n  id: number;\n  name: string;\n  tags: string[];\n  weight: number;\n}`);
  lines.push('');
  lines.push(`export type Mode${pad(i)} = 'fast' | 'slow' | 'auto';`);
  lines.push('');
  // A class with fields, a constructor, methods with loops and branches, a getter, a static.
  const methods = int(3, 6);
  lines.push(`export class Model${pad(i)} {`);
  lines.push(`  static created = 0;`);
  lines.push(`  private items: Item${pad(i)}[] = [];`);
  lines.push(`  #total = ${int(0, 100)};`);
  lines.push(`  constructor(readonly label: string, private mode: Mode${pad(i)} = '${['fast', 'slow', 'auto'][int(0, 2)]}') {`);
  lines.push(`    Model${pad(i)}.created++;`);
  lines.push(`  }`);
  lines.push(`  add(name: string, weight: number): Item${pad(i)} {`);
  lines.push(`    const item = { id: this.items.length + 1, name, tags: name.split('-'), weight };`);
  lines.push(`    this.items.push(item);`);
  lines.push(`    this.#total += weight;`);
  lines.push(`    return item;`);
  lines.push(`  }`);
  lines.push(`  get total(): number {\n    return this.#total;\n  }`);
  for (let m = 0; m < methods; m++) {
    const kind = int(0, 3);
    lines.push(`  step${m}(limit: number): number {`);
    lines.push(`    let acc = ${int(0, 9)};`);
    if (kind === 0) {
      lines.push(`    for (let j = 0; j < limit; j++) {`);
      lines.push(`      if (j % ${int(2, 5)} === 0) acc += j * ${int(1, 7)};`);
      lines.push(`      else if (this.mode === 'slow') acc -= 1;`);
      lines.push(`      else acc ^= j;`);
      lines.push(`    }`);
    } else if (kind === 1) {
      lines.push(`    for (const item of this.items) {`);
      lines.push(`      switch (item.tags.length) {`);
      lines.push(`        case 0:\n          break;\n        case 1:\n          acc += item.weight;\n          break;\n        default:\n          acc += item.tags.length * ${int(2, 9)};`);
      lines.push(`      }`);
      lines.push(`    }`);
      lines.push(`    acc += limit;`);
    } else if (kind === 2) {
      lines.push(`    let k = limit;`);
      lines.push(`    while (k > 0) {`);
      lines.push(`      acc = (acc * ${int(3, 31)} + k) % ${int(1000, 9999)};`);
      lines.push(`      k -= ${int(1, 3)};`);
      lines.push(`    }`);
    } else {
      lines.push(`    try {`);
      lines.push(`      if (limit < 0) throw new RangeError('negative limit ' + limit);`);
      lines.push(`      acc += this.items.reduce((s, it) => s + (it.weight > ${int(1, 50)} ? it.weight : -it.id), 0);`);
      lines.push(`    } catch (err) {`);
      lines.push(`      acc = err instanceof RangeError ? -1 : -2;`);
      lines.push(`    }`);
    }
    lines.push(`    return acc;`);
    lines.push(`  }`);
  }
  lines.push(`  run(limit: number): number {`);
  lines.push(`    return ${Array.from({ length: methods }, (_, m) => `this.step${m}(limit)`).join(' + ')};`);
  lines.push(`  }`);
  lines.push(`}`);
  lines.push('');
  // Free functions: arrow, async, generator, plus the module's score function.
  lines.push(`export const weigh${pad(i)} = (xs: number[], factor = ${int(1, 9)}): number => xs.reduce((a, b) => a + b * factor, 0);`);
  lines.push('');
  lines.push(`export function* range${pad(i)}(from: number, to: number): Generator<number> {\n  for (let v = from; v < to; v += ${int(1, 3)}) yield v;\n}`);
  lines.push('');
  lines.push(`export async function load${pad(i)}(key: string): Promise<string> {`);
  lines.push(`  await Promise.resolve();`);
  lines.push(`  return key.length > ${int(3, 12)} ? key.slice(0, ${int(2, 6)}) : key.toUpperCase();`);
  lines.push(`}`);
  lines.push('');
  lines.push(`export function score${pad(i)}(seed: number): number {`);
  lines.push(`  const model = new Model${pad(i)}('m${i}-' + seed);`);
  lines.push(`  for (const v of range${pad(i)}(0, ${int(3, 8)})) model.add('item-' + v + '-x', v * ${int(1, 5)});`);
  lines.push(`  let result = model.run(seed % ${int(5, 20)}) + weigh${pad(i)}([seed, ${int(0, 9)}, ${int(0, 9)}]);`);
  for (const d of deps) {
    lines.push(`  if (seed > ${int(0, 3)}) result += score${pad(d)}(seed - 1) % ${int(10, 99)};`);
    lines.push(`  else result += new Model${pad(d)}('dep').total;`);
  }
  lines.push(`  return result;`);
  lines.push(`}`);
  lines.push('');
  return lines.join('\n');
}

/** Writes the app to `dir` (emptied first); returns {modules, bytes, lines}. */
export function generateApp(dir, { modules = 600, seed = 20261126 } = {}) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'src'), { recursive: true });
  const rnd = prng(seed);
  let bytes = 0;
  let lines = 0;
  for (let i = 0; i < modules; i++) {
    const src = moduleSource(i, rnd, modules);
    writeFileSync(join(dir, 'src', `m${pad(i)}.ts`), src);
    bytes += Buffer.byteLength(src);
    lines += src.split('\n').length;
  }
  // The entry uses every module, so nothing is tree-shaken away in either build.
  const main = [
    ...Array.from({ length: modules }, (_, i) => `import { score${pad(i)}, load${pad(i)} } from './m${pad(i)}';`),
    '',
    `const scores = [${Array.from({ length: modules }, (_, i) => `score${pad(i)}`).join(', ')}];`,
    `const loads = [${Array.from({ length: modules }, (_, i) => `load${pad(i)}`).join(', ')}];`,
    '',
    'export async function runAll(seed: number): Promise<number> {',
    '  let sum = 0;',
    '  for (let i = 0; i < scores.length; i++) {',
    '    sum += scores[i](seed + (i % 3));',
    "    if (i % 50 === 0) sum += (await loads[i]('key-' + i)).length;",
    '  }',
    '  return sum;',
    '}',
    '',
    "document.querySelector('#run')?.addEventListener('click', async () => {",
    "  const out = document.querySelector('#out');",
    '  if (out) out.textContent = String(await runAll(4));',
    '});',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'src', 'main.ts'), main);
  bytes += Buffer.byteLength(main);
  lines += main.split('\n').length;
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html>\n<html>\n  <head><meta charset="utf-8" /><title>cti bench app</title></head>\n  <body>\n    <button id="run">run</button>\n    <pre id="out"></pre>\n    <script type="module" src="/src/main.ts"></script>\n  </body>\n</html>\n',
  );
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'cti-bench-vite-app', private: true, type: 'module' }, null, 2) + '\n');
  return { modules: modules + 1, generatedModules: modules, bytes, lines, seed };
}
