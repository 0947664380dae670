// One line per distinct problem: a misconfigured receiver must not flood the program's stderr.
const seen = new Set<string>();

/** Writes `cti: <message>` to stderr, once per distinct message for the life of the process. */
export function warnOnce(message: string): void {
  if (seen.has(message)) return;
  seen.add(message);
  stderrLine(message);
}

/** Writes one `cti: ` line to stderr unconditionally (used for the exit-time drop reports). */
export function stderrLine(message: string): void {
  try {
    // On Linux stderr writes to pipes and files are synchronous, so this also works in 'exit'.
    process.stderr.write(`cti: ${message}\n`);
  } catch {
    // A closed stderr must not turn telemetry into a crash.
  }
}
