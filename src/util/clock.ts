/**
 * Milliseconds on the monotonic clock, with sub-millisecond precision. `performance.now()` reads the same
 * clock, but the first touch of the global `performance` loads `node:perf_hooks` and its histograms and
 * observers into the process: every runner would carry them for a timer.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** `n` in decimal, zero-padded to `width` digits (dates and times). */
export const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * A time as ISO 8601 in UTC (`2026-12-07T23:05:01.123Z`), as `Date#toISOString` writes it. Built from the UTC
 * getters: `toISOString` has V8 set up its time-zone cache, which reads ICU's zone tables (0.6 MB) into the
 * process, and a runner writes a timestamp from its first line of log on. Years outside 0–9999 are left to
 * `toISOString`'s own format.
 */
export function isoTime(at: Date | number = Date.now()): string {
  const date = typeof at === 'number' ? new Date(at) : at;
  const year = date.getUTCFullYear();
  if (!(year >= 0 && year <= 9999)) return date.toISOString(); // also throws for an invalid date, as it would
  return (
    `${pad(year, 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}` +
    `.${pad(date.getUTCMilliseconds(), 3)}Z`
  );
}
