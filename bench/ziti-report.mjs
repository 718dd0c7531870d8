/**
 * Targets and result rows of bench/ziti-sdk.mjs: its own table, and the summary lines bench/run-all.mjs
 * prints from the JSON summary it writes.
 */

/** Ours relative to Go: connect p50 and RTT p50 at most, throughput at least, these multiples. */
export const TARGETS = { connect: 1.5, rtt: 1.2, throughput: 0.8 };

const ratio = (ours, go) => ours / go;
const times = (value) => `${value.toFixed(2)}x`;

/** The three targeted measures of one service: label, ours, Go, unit, ratio, target text, verdict. */
export function targetChecks(result) {
  const { ours, go } = result;
  const check = (label, o, g, unit, digits, target, atMost) => {
    const r = ratio(o, g);
    const ok = atMost ? r <= target : r >= target;
    return {
      label,
      ours: o,
      go: g,
      unit,
      digits,
      ratio: r,
      target: `${atMost ? '<=' : '>='} ${target}x`,
      verdict: ok ? 'PASS' : 'MISS',
    };
  };
  return [
    check('connect p50', ours.connect.p50, go.connect.p50, 'ms', 2, TARGETS.connect, true),
    check('echo RTT p50', ours.rtt.p50, go.rtt.p50, 'ms', 3, TARGETS.rtt, true),
    check('throughput', ours.throughputMedian, go.throughputMedian, 'MiB/s', 1, TARGETS.throughput, false),
  ];
}

/** Rows of the benchmark's own table: service, metric, ours, Go, ratio, target, verdict. */
export function tableRows(key, result, mib) {
  const { ours, go } = result;
  const [connect, rtt, throughput] = targetChecks(result);
  const row = (metric, o, g, digits, check) => [
    key,
    metric,
    o.toFixed(digits),
    g.toFixed(digits),
    times(ratio(o, g)),
    check?.target ?? '',
    check?.verdict ?? '',
  ];
  return [
    row('connect p50 (ms)', ours.connect.p50, go.connect.p50, 2, connect),
    row('connect p90 (ms)', ours.connect.p90, go.connect.p90, 2),
    row('echo RTT p50 (ms)', ours.rtt.p50, go.rtt.p50, 3, rtt),
    row('echo RTT p99 (ms)', ours.rtt.p99, go.rtt.p99, 3),
    row(`throughput ${mib} MiB echo (MiB/s)`, ours.throughputMedian, go.throughputMedian, 1, throughput),
  ];
}

/** Rows for bench/run-all.mjs: measure, ours, baseline, target, verdict. */
export function runAllRows(summary) {
  if (summary.skipped) return [['OpenZiti SDK vs Go', 'SKIPPED', summary.skipped, '', '']];
  return Object.entries(summary.results).flatMap(([key, result]) =>
    targetChecks(result).map((c) => [
      `ziti ${key} ${c.label}`,
      `${c.ours.toFixed(c.digits)} ${c.unit}`,
      `Go ${c.go.toFixed(c.digits)} ${c.unit}`,
      `${c.target} Go (got ${times(c.ratio)})`,
      c.verdict,
    ]),
  );
}
