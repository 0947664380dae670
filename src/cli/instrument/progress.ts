import cliProgress from 'cli-progress';

export interface Progress {
  fileDone(cacheHit: boolean, error: boolean): void;
  stop(): void;
}

/** A live bar only where someone watches it (a TTY); logs and CI get just the final summary line. */
export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, total: number): Progress {
  if (!stream.isTTY || total === 0) return { fileDone() {}, stop() {} };
  const bar = new cliProgress.SingleBar({
    stream,
    format: 'cti instrument {bar} {value}/{total} files | {hits} cache hits | {errors} errors',
    hideCursor: true,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  let hits = 0;
  let errors = 0;
  bar.start(total, 0, { hits, errors });
  return {
    fileDone(cacheHit, error) {
      if (cacheHit) hits++;
      if (error) errors++;
      bar.increment(1, { hits, errors });
    },
    stop() {
      bar.stop();
    },
  };
}
