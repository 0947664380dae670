import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { EventSpans } from '../../server/event-spans.js';
import type { RegisterCommand } from '../context.js';
import { CliError } from '../context.js';

interface IngestFlags { out?: string; service?: string }

/** `cti ingest <events.jsonl>`: the entry/exit events of LLM-instrumented code as spans (JSONL). */
export const registerIngest: RegisterCommand = (program, ctx) => {
  program
    .command('ingest')
    .description('turn the entry/exit events printed by LLM-instrumented code (stderr or CTI_TRACES_FILE) into spans, one JSON line each (docs/telemetry.md)')
    .argument('<file>', 'event stream, one JSON object per line; other lines are skipped')
    .option('-o, --out <file>', 'write the spans here (default: stdout)')
    .option('--service <name>', 'service.name of the spans (default: unknown_service:<language>)')
    .action(async (file: string, flags: IngestFlags) => {
      const { io } = ctx;
      const events = new EventSpans(flags.service);
      const skipped: string[] = [];
      let n = 0;
      try {
        for await (const line of createInterface({ input: createReadStream(resolve(io.cwd, file), 'utf8'), crlfDelay: Infinity })) {
          n++;
          // Program output mixed into stderr is expected: only lines that are events count.
          if (!line.includes('"cti.')) continue;
          let value: unknown;
          try {
            value = JSON.parse(line);
          } catch {
            skipped.push(`line ${n}: not valid JSON`);
            continue;
          }
          const why = events.add(value, line);
          if (why) skipped.push(`line ${n}: ${why}`);
        }
      } catch (e) {
        throw new CliError(`${file}: cannot read: ${(e as Error).message}`);
      }
      const spans = events.finish();
      const text = spans.map((s) => `${JSON.stringify(s)}\n`).join('');
      if (flags.out) await writeFile(resolve(io.cwd, flags.out), text);
      else io.stdout.write(text);
      io.stderr.write(`cti ingest: ${spans.length} spans from ${file}${skipped.length ? `; skipped ${skipped.length} lines (first: ${skipped[0]})` : ''}\n`);
    });
};
