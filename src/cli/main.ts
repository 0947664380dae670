import { Command, CommanderError } from 'commander';
import { ConfigError } from '../core/config.js';
import { PACKAGE_VERSION } from '../core/version.js';
import { COMMANDS } from './commands/index.js';
import { CliError, EXIT_OK, EXIT_USAGE, type CliContext, type CliIo } from './context.js';

const processIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env });

const oneLine = (message: string) => message.replace(/\s*\n\s*/g, ' ').trim();

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('cti')
    .description('Instrument source code so that it emits OpenTelemetry spans for calls, arguments, returns, variables, branches, loops and exceptions.')
    .version(PACKAGE_VERSION, '-v, --version')
    // Set before the commands are added so that every subcommand inherits them.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
      outputError: () => {}, // main() prints errors itself, on one line
    });
  for (const register of COMMANDS) register(program, ctx);
  return program;
}

/** Runs the CLI; resolves to the exit code (bin/cti.js sets process.exitCode from it). */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const ctx: CliContext = { io, exitCode: EXIT_OK };
  try {
    await buildProgram(ctx).parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return EXIT_OK; // --help, --version
      // No subcommand given: commander has already printed the help on stderr.
      if (e.code !== 'commander.help') io.stderr.write(`cti: ${oneLine(e.message.replace(/^error:\s*/, ''))}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof CliError) {
      io.stderr.write(`cti: ${oneLine(e.message)}\n`);
      return e.exitCode;
    }
    if (e instanceof ConfigError) {
      io.stderr.write(`cti: ${oneLine(e.message)}\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`cti: internal error: ${oneLine((e as Error)?.message ?? String(e))}\n`);
    if (io.env.CTI_DEBUG) io.stderr.write(`${(e as Error)?.stack}\n`);
    return 1;
  }
}
