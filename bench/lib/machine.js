import { cpus, loadavg, platform, release, totalmem } from 'node:os';

export const round = (x, digits = 2) => (x === null || x === undefined || Number.isNaN(x) ? null : Number(x.toFixed(digits)));

export const loadAverage = () => loadavg().map((x) => round(x));

/** What a result file records about the machine it was measured on. */
export function machineInfo() {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? null,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    platform: `${platform()} ${release()}`,
    node: process.version,
    loadAverageAtStart: loadAverage(),
  };
}
