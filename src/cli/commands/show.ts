import { styleText } from 'node:util';
import { toMermaid } from '../../server/mermaid.js';
import { TraceStore } from '../../server/store.js';
import type { SpanData } from '../../runtime/span-data.js';
import type { CliIo, RegisterCommand } from '../context.js';
import { CliError } from '../context.js';
import { callDetail, spanTree } from '../span-tree.js';
import { dataDirOf } from './serve.js';

function spansOf(traceId: string, opts: { data?: string }, io: CliIo): SpanData[] {
  if (!/^[0-9a-fA-F]{32}$/.test(traceId)) throw new CliError(`${traceId}: a trace id is 32 hex digits`);
  const store = new TraceStore(dataDirOf(opts, io.cwd, io.env));
  try {
    const spans = store.trace(traceId);
    if (!spans.length) throw new CliError(`trace ${traceId} is not in the store`, 1);
    return spans;
  } finally {
    store.close();
  }
}

const STYLES = { name: 'cyan', error: 'red', detail: 'dim' } as const;

/** `cti show <trace-id>` and `cti export --mermaid <trace-id>`: one stored trace, in the terminal or as a diagram. */
export const registerShow: RegisterCommand = (program, ctx) => {
  program
    .command('show <trace-id>')
    .description('print a stored trace as a call tree (coloured on a terminal)')
    .option('--data <dir>', 'data directory of the trace store (default: $CTI_DATA_DIR, else .cti/serve)')
    .action((traceId: string, opts: { data?: string }) => {
      const spans = spansOf(traceId, opts, ctx.io);
      const tty = (ctx.io.stdout as NodeJS.WriteStream).isTTY === true && !ctx.io.env.NO_COLOR;
      const style = tty ? (part: keyof typeof STYLES, text: string) => styleText(STYLES[part], text) : undefined;
      ctx.io.stdout.write(`${spanTree(spans, { detail: (s) => `  ${callDetail(s)}`, style })}\n`);
    });
  program
    .command('export <trace-id>')
    .description('export a stored trace (--mermaid: a Mermaid sequence diagram of its calls)')
    .requiredOption('--mermaid', 'as a Mermaid sequence diagram')
    .option('--data <dir>', 'data directory of the trace store (default: $CTI_DATA_DIR, else .cti/serve)')
    .action((traceId: string, opts: { data?: string }) => {
      ctx.io.stdout.write(`${toMermaid(spansOf(traceId, opts, ctx.io))}\n`);
    });
};
