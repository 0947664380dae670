import cliProgress from 'cli-progress';

export interface Progress {
  fileDone(cacheHit: boolean, error: boolean): void;
  /** Money spent on model calls so far, and what is left of the budget (undefined: no budget). */
  money(spent: number, remaining: number | undefined): void;
  stop(): void;
}

/** A live bar only where someone watches it (a TTY); logs and CI get just the final summary line. */
export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, total: number): Progress {
  if (!stream.isTTY || total === 0) return { fileDone() {}, money() {}, stop() {} };
  const bar = new cliProgress.SingleBar({
    stream,
    format: 'cti instrument {bar} {value}/{total} files | {hits} cache hits | {errors} errors{money}',
    hideCursor: true,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  let hits = 0;
  let errors = 0;
  let money = '';
  bar.start(total, 0, { hits, errors, money });
  return {
    fileDone(cacheHit, error) {
      if (cacheHit) hits++;
      if (error) errors++;
      bar.increment(1, { hits, errors, money });
    },
    money(spent, remaining) {
      money = ` | LLM $${spent.toFixed(4)} spent${remaining === undefined ? '' : `, $${remaining.toFixed(4)} left`}`;
      bar.update({ hits, errors, money });
    },
    stop() {
      bar.stop();
    },
  };
}
