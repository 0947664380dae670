import { closeSync, openSync, writeSync } from 'node:fs';
import { CliError } from './context.js';

export interface DebugLog {
  /** One JSON line: `phase`, `file` when it concerns one file, and whatever else explains the step. */
  write(phase: string, fields?: Record<string, unknown>): void;
  close(): void;
}

const NO_LOG: DebugLog = { write() {}, close() {} };

/**
 * JSONL trace of every decision and timing. Written synchronously so that the lines are
 * complete and in order even when the run ends with an error.
 */
export function openDebugLog(file: string | undefined): DebugLog {
  if (!file) return NO_LOG;
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch (e) {
    throw new CliError(`--debug-log ${file}: cannot write: ${(e as Error).message}`);
  }
  return {
    write(phase, fields = {}) {
      writeSync(fd, `${JSON.stringify({ time: new Date().toISOString(), phase, ...fields })}\n`);
    },
    close() {
      closeSync(fd);
    },
  };
}
