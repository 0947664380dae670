import { resolve } from 'node:path';
import { importJsonl } from '../../server/jsonl-import.js';
import { serveOptionsProblem, startServer } from '../../server/serve.js';
import { DEFAULT_MAX_SPANS } from '../../server/store.js';
import type { RegisterCommand } from '../context.js';
import { CliError } from '../context.js';

/** The store's default place: `.cti/serve` under the current directory (or CTI_DATA_DIR). */
export const dataDirOf = (opts: { data?: string }, cwd: string, env: NodeJS.ProcessEnv) => resolve(cwd, opts.data ?? env.CTI_DATA_DIR ?? '.cti/serve');

interface ServeFlags { port: string; host: string; data?: string; root: string; token?: string; import?: string[]; maxSpans: string }

/** `cti serve`: the OTLP receiver, trace store, JSON API and viewer, until Ctrl-C. */
export const registerServe: RegisterCommand = (program, ctx) => {
  program
    .command('serve')
    .description('receive OTLP/HTTP spans (JSON or protobuf) into a local store, with a JSON API and a web viewer')
    .option('--port <n>', 'port to listen on', '4318')
    .option('--host <addr>', 'address to listen on (anything but loopback requires --token)', '127.0.0.1')
    .option('--data <dir>', 'data directory of the trace store (default: $CTI_DATA_DIR, else .cti/serve)')
    .option('--root <dir>', 'project root the source view reads (read-only, never outside it)', '.')
    .option('--token <token>', 'bearer token every request must carry (header, or ?token= in the viewer URL)')
    .option('--import <file...>', 'load CTI_TRACES_FILE JSONL files (spans, or the entry/exit events of LLM-instrumented code) into the store first')
    .option('--max-spans <n>', 'keep at most this many spans: past it the oldest traces are deleted', String(DEFAULT_MAX_SPANS))
    .action(async (flags: ServeFlags) => {
      const { io } = ctx;
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port ${flags.port}: not a port number`);
      const maxSpans = Number(flags.maxSpans);
      if (!Number.isInteger(maxSpans) || maxSpans < 1) throw new CliError(`--max-spans ${flags.maxSpans}: not a positive integer`);
      const token = flags.token ?? io.env.CTI_SERVE_TOKEN;
      const problem = serveOptionsProblem({ host: flags.host, token });
      if (problem) throw new CliError(problem);
      const data = dataDirOf(flags, io.cwd, io.env);
      let server;
      try {
        server = await startServer({ port, host: flags.host, data, root: resolve(io.cwd, flags.root), token, maxSpans });
      } catch (e) {
        throw new CliError(`cannot serve on ${flags.host}:${port}: ${(e as Error).message}`);
      }
      for (const file of flags.import ?? []) {
        const r = await importJsonl(resolve(io.cwd, file), server.store);
        io.stdout.write(`imported ${r.spans} spans from ${file}${r.skipped.length ? `; skipped ${r.skipped.length} lines (first: line ${r.skipped[0]!.line}: ${r.skipped[0]!.reason})` : ''}\n`);
      }
      io.stdout.write(`cti serve: receiving OTLP/HTTP at ${server.url}/v1/traces, viewer at ${server.url}/ (data: ${data}); Ctrl-C stops\n`);
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
};
