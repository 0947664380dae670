import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SpanData } from '../../runtime/span-data.js';
import type { RegisterCommand } from '../context.js';
import { CliError } from '../context.js';
import { main } from '../main.js';
import { callDetail, spanTree } from '../span-tree.js';

const SAMPLE = fileURLToPath(new URL('../../../playground/node-sample', import.meta.url));
const RUNTIME = fileURLToPath(new URL('../../runtime/node.js', import.meta.url));

/** Instruments the sample order service, runs it, and shows the spans it emitted. */
export const registerDemo: RegisterCommand = (program, ctx) => {
  program
    .command('demo')
    .description('instrument and run the sample program (playground/node-sample), then show its spans')
    .action(async () => {
      const { io } = ctx;
      const work = mkdtempSync(join(tmpdir(), 'cti-demo-'));
      const out = join(work, 'node-sample');
      const code = await main(['instrument', SAMPLE, '--out', out, '--root', SAMPLE, '--runtime', RUNTIME, '--no-cache'], {
        ...io,
        stdout: { write: () => true } as unknown as NodeJS.WritableStream,
      });
      if (code !== 0) throw new CliError(`instrumenting the sample failed (exit ${code})`, 1);
      const traces = join(work, 'spans.jsonl');
      io.stdout.write(`cti demo: instrumented ${SAMPLE} into ${out}\n$ CTI_TRACES_FILE=${traces} node src/app.js\n`);
      const run = spawnSync(process.execPath, ['--enable-source-maps', join(out, 'src/app.js')], {
        cwd: out,
        env: { ...io.env, CTI_TRACES_FILE: traces, OTEL_SERVICE_NAME: 'cti-node-sample' },
        encoding: 'utf8',
      });
      io.stdout.write(run.stdout);
      io.stderr.write(run.stderr);
      if (!existsSync(traces)) throw new CliError(`the sample wrote no spans (exit ${run.status})`, 1);
      const spans = readFileSync(traces, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SpanData);
      const traceCount = new Set(spans.map((s) => s.trace_id)).size;
      const errors = spans.filter((s) => s.status.code === 'ERROR').length;
      io.stdout.write(`\n${spans.length} spans in ${traceCount} trace(s), ${errors} ending in an error:\n\n`);
      io.stdout.write(`${spanTree(spans, { detail: (s) => `  ${callDetail(s)}` })}\n\n`);
      io.stdout.write(`All spans, with their events: ${traces}\n`);
      ctx.exitCode = run.status ?? 1;
    });
};
