/**
 * Milliseconds on the monotonic clock, with sub-millisecond precision. `performance.now()` reads the same
 * clock, but the first touch of the global `performance` loads `node:perf_hooks` and its histograms and
 * observers into the process: every runner would carry them for a timer.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
