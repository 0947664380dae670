import type { Command } from 'commander';

/** Where a command writes; main() fills it from the process, tests may pass their own. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface CliContext {
  io: CliIo;
  /** Set by a command's action; main() returns it. */
  exitCode: number;
}

/** A command registers itself on the program; its action stores the exit code in the context. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/** A failure the user can fix: printed as one `cti: <message>` line. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

/** Exit codes: 0 done, 1 --strict found files that could not be instrumented, 2 bad input. */
export const EXIT_OK = 0;
export const EXIT_STRICT_FAILURE = 1;
export const EXIT_USAGE = 2;
