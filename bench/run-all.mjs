#!/usr/bin/env node
/**
 * Runs every benchmark, one process each, then prints a summary table. Options after the script name are not
 * passed on; run a benchmark by itself to change its parameters. Exits 0 unless a benchmark errored.
 *
 *   node bench/run-all.mjs        (npm run bench)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineLine, requireBuild, ms, ROOT, removeDir, table, tempDir } from './lib/common.mjs';
import { runAllRows as zitiRows } from './ziti-report.mjs';

const BENCHES = [
  'keystroke-rtt.mjs',
  'throughput.mjs',
  'status.mjs',
  'fleet.mjs',
  'ziti-sdk.mjs',
  'remote-attach.mjs',
  'web.mjs',
  'kubernetes.mjs',
];

function runBench(script, dir) {
  const summaryFile = join(dir, `${script}.json`);
  process.stdout.write(`\n=== ${script} ===\n`);
  const result = spawnSync(process.execPath, [join(ROOT, 'bench', script)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_SUMMARY_FILE: summaryFile },
    timeout: 10 * 60_000,
  });
  const failed = result.error
    ? result.error.message
    : result.status !== 0
      ? `exit code ${result.status}`
      : null;
  const summary = !failed && existsSync(summaryFile) ? JSON.parse(readFileSync(summaryFile, 'utf8')) : null;
  return { script, failed: failed ?? (summary ? null : 'no summary written'), summary };
}

function rowsFor({ script, failed, summary }) {
  if (failed) return [[script, 'ERROR', failed, '', '']];
  const s = summary;
  if (s.bench === 'keystroke-rtt') {
    const r = s.results;
    const p = (name) => (r[name] ? `${name} ${ms(r[name].p50)}` : `${name} -`);
    return [
      ['keystroke RTT p50', ms(r.ralph.p50), p('tmux'), '<= tmux p50', s.verdicts.vsTmux ?? '-'],
      ['', '', p('relay'), '<= 1 ms', s.verdicts.underOneMs ?? '-'],
      ['', '', p('node-pty'), '', ''],
      ['keystroke RTT p99', ms(r.ralph.p99), `tmux ${ms(r.tmux?.p99)}`, '', ''],
    ];
  }
  if (s.bench === 'throughput') {
    const r = s.results;
    const rate = (name) => `${name} ${r[name].medianMiBps.toFixed(1)} MiB/s`;
    return [
      [
        `PTY throughput (${s.mib.toFixed(0)} MiB)`,
        `${r.ralph.medianMiBps.toFixed(1)} MiB/s`,
        rate('node-pty'),
        `>= 50 % (got ${(s.ratio * 100).toFixed(1)} %)`,
        s.verdicts.ratio,
      ],
      ['', '', rate('relay'), '', ''],
    ];
  }
  if (s.bench === 'status') {
    const r = s.results;
    const base = r["baseline: node -e ''"];
    return [
      [
        `ralph status (${s.rows} rows)`,
        `${ms(r['ralph status'].median, 1)} (${r['ralph status'].ratio.toFixed(2)}x node)`,
        `node -e '' ${ms(base.median, 1)}`,
        "<= 1.5x node -e ''",
        s.verdicts.status,
      ],
    ];
  }
  if (s.bench === 'fleet') {
    const r = s.results;
    const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
    const floor = `node timer ${mb(r.floorRss)}`;
    return [
      [
        `runner RSS, median (${s.loops} loops)`,
        mb(r.runnerRssMedian),
        floor,
        '<= 50 MB',
        s.verdicts.runnerRss,
      ],
      ['TUI CPU', `${(r.tuiCpu * 100).toFixed(1)} %`, '', '<= 10 %', s.verdicts.tuiCpu],
      ['TUI RSS', mb(r.tuiRss), floor, '<= 150 MB', s.verdicts.tuiRss],
    ];
  }
  if (s.bench === 'ziti-sdk') return zitiRows(s);
  if (s.bench === 'remote-attach') return remoteAttachRows(s);
  if (s.bench === 'web') {
    const k = s.keystroke;
    const key = k['browser terminal, key into xterm.js'];
    const floor = k['floor: browser WebSocket echo, plain ws'];
    const cli = k['CLI attach (Unix socket)'];
    return [
      ['browser keystroke RTT p50', ms(key.p50), `CLI attach ${ms(cli.p50)}`, '', ''],
      ['', '', `browser WebSocket floor ${ms(floor.p50)}`, '', ''],
      [
        `fleet page, ${s.loops} loops: all rows`,
        ms(s.firstPaint.web.rowsP50, 1),
        `static page ${ms(s.firstPaint.static.rowsP50, 1)}`,
        '',
        '',
      ],
    ];
  }
  if (s.bench === 'kubernetes') {
    const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
    const rows = [];
    if (s.first !== null) {
      rows.push([
        'start_loop -> first agent byte, real pod (median)',
        ms(s.first.kubernetes.p50, 0),
        `process executor ${ms(s.first.process.p50, 0)}`,
        '',
        '',
      ]);
    } else rows.push(['start_loop -> first agent byte, real pod', 'SKIPPED', 'no real node here', '', '']);
    rows.push([
      `kubernetes daemon RSS, ${s.fleet.loops} kwok loops`,
      mb(s.fleet.steadyRss),
      `no loops ${mb(s.fleet.idleRss)}, node ${mb(s.fleet.floorRss)}`,
      '',
      '',
    ]);
    return rows;
  }
  return [[script, 'unknown summary', '', '', '']];
}

/** The remote loop over the overlay: each variant's keystroke RTT and output rate, then the daemon's verdicts. */
function remoteAttachRows(s) {
  if (s.skipped) return [['remote attach over the overlay', 'SKIPPED', s.skipped, '', '']];
  const mibps = (name) => {
    const b = (s.bursts[name] ?? []).map((x) => x.mibPerSec).sort((a, b) => a - b);
    return b.length ? `${b[Math.floor((b.length - 1) / 2)].toFixed(1)} MiB/s` : '-';
  };
  const rows = Object.entries(s.rtt).map(([name, r]) => [
    `remote attach: ${name}`,
    `RTT p50 ${ms(r.p50)} p99 ${ms(r.p99)}`,
    `output ${mibps(name)}`,
    '',
    '',
  ]);
  for (const [label, v] of Object.entries(s.verdicts ?? {})) rows.push(['', '', '', label, v]);
  for (const failure of s.failures ?? []) rows.push(['', 'FAILED', failure, '', '']);
  return rows;
}

requireBuild();
const dir = tempDir('all');
try {
  const outcomes = BENCHES.map((b) => runBench(b, dir));
  process.stdout.write(`\n=== summary ===\n${machineLine()}\n\n`);
  const rows = outcomes.flatMap(rowsFor);
  process.stdout.write(`${table(['measure', 'ralph', 'baseline (same run)', 'target', 'verdict'], rows)}\n`);
  const errors = outcomes.filter((o) => o.failed);
  if (errors.length > 0) {
    process.stderr.write(
      `bench: ${errors.length} benchmark(s) errored: ${errors.map((e) => e.script).join(', ')}\n`,
    );
    process.exitCode = 1;
  }
} finally {
  removeDir(dir);
}
