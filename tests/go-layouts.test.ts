/**
 * Go: module layouts and package kinds under `go build -toolexec bin/cti-go`: a go.work
 * workspace (every `use` module is instrumented), a vendor/ directory (vendored code is a
 * dependency: left alone), and a cgo package (compiled from cgo's rewritten copy under $WORK).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/run-both.js';
import { buildBoth, normalizeCrash, runTraced } from './helpers/go.js';

const FIXTURES = join(REPO, 'tests/fixtures/go');
const GO_TIMEOUT = 600_000;

describe('go: module layouts', () => {
  it('go.work: the modules of the workspace are instrumented', { timeout: GO_TIMEOUT }, () => {
    const bins = buildBoth(join(FIXTURES, 'workspace/app'));
    const plain = runTraced(bins.plain);
    const run = runTraced(bins.instrumented);
    expect(run.stdout).toBe(plain.stdout);
    const greet = run.spans.find((s) => s.name === 'example.com/lib.Greet')!;
    expect(greet.attributes).toMatchObject({ 'code.file.path': 'lib.go', 'code.line.number': 4, 'cti.return': '"hello go.work"' });
    expect(run.spans.find((s) => s.span_id === greet.parent_span_id)?.name).toBe('main.main');
  });

  it('vendor/: the vendored dependency is not instrumented', { timeout: GO_TIMEOUT }, () => {
    const bins = buildBoth(join(FIXTURES, 'vendored'));
    const plain = runTraced(bins.plain);
    const run = runTraced(bins.instrumented);
    expect(run.stdout).toBe(plain.stdout);
    expect(run.stdout).toBe('41\n');
    expect(run.spans.map((s) => s.name).sort()).toEqual(['main.compute', 'main.main']);
  });

  it('cgo: the package is instrumented with its original lines, and crashes the same', { timeout: GO_TIMEOUT }, () => {
    const bins = buildBoth(join(FIXTURES, 'cgo'));
    const plain = runTraced(bins.plain);
    const run = runTraced(bins.instrumented);
    expect(run.stdout).toBe(plain.stdout);
    const twice = run.spans.find((s) => s.name === 'main.twice')!;
    expect(twice.attributes).toMatchObject({ 'code.file.path': 'main.go', 'code.line.number': 14, 'cti.arg.n': '21', 'cti.return': '42' });
    const plainCrash = runTraced(bins.plain, ['crash']);
    const crash = runTraced(bins.instrumented, ['crash']);
    expect(plainCrash.stderr).toContain('main.go:22');
    expect(crash.status).toBe(plainCrash.status);
    expect(normalizeCrash(crash.stderr)).toBe(normalizeCrash(plainCrash.stderr));
  });
});
