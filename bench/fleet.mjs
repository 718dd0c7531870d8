#!/usr/bin/env node
/**
 * What a box pays per loop: N detached loops (default 30), each running a chatty program in its terminal
 * (5 numbered lines a second, like an agent at work), with `ralph tui` open on them in a real terminal.
 * Over a fixed window it samples, from /proc, every runner's resident memory and threads and the CPU time
 * all runners used, and the TUI's CPU time and resident memory. The floor beside them is a bare Node
 * process that only keeps a timer (`node -e 'setInterval(() => {}, 1000)'`).
 *
 *   node bench/fleet.mjs [--loops 30] [--rate 5] [--window 20] [--settle 5]
 *
 * Targets: median runner RSS <= 50 MB; the TUI <= 10 % of one core and <= 150 MB. The runners' PSS and
 * private memory are printed beside their RSS, as what each more loop costs the box: RSS counts Node's own
 * code, shared by every Node process, in each of them. Exits 0 whether or not the targets are met; 1 on an
 * error.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  FIXTURE,
  distFile,
  importDist,
  machineLine,
  makeTaskDir,
  numberOption,
  removeDir,
  requireBuild,
  runMain,
  table,
  tempDir,
  verdict,
  warnIfStale,
  writeSummary,
} from './lib/common.mjs';

const LOOPS = numberOption('loops', 30, { min: 1, max: 200 });
const RATE = numberOption('rate', 5, { min: 1, max: 1000 });
const WINDOW_S = numberOption('window', 20, { min: 1, max: 600 });
const SETTLE_S = numberOption('settle', 5, { min: 0, max: 120 });
const MB = 1024 * 1024;
const TICKS = 100; // USER_HZ on Linux

let home = null;
const started = [];
let tui = null;
let floor = null;

/**
 * Resident memory (bytes) and thread count of a process, from /proc/<pid>/status, and from smaps_rollup its
 * proportional share (PSS: pages shared with other processes, such as Node's own code, divided among them)
 * and its private memory (pages no other process maps): what each more loop costs the box.
 */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (text, name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return {
    rss: field(status, 'VmRSS') * 1024,
    threads: field(status, 'Threads'),
    pss: field(rollup, 'Pss') * 1024,
    private: (field(rollup, 'Private_Clean') + field(rollup, 'Private_Dirty')) * 1024,
  };
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};
const mb = (bytes) => `${(bytes / MB).toFixed(1)} MB`;
const pct = (fraction) => `${(fraction * 100).toFixed(1)} %`;

async function main() {
  requireBuild();
  warnIfStale();
  home = tempDir('fleet');
  process.env.RALPH_HOME = home;
  const { ralphPaths } = await importDist('src/config/paths.js');
  const { startLoop } = await importDist('src/client/start.js');
  const paths = ralphPaths();
  const quote = (s) => JSON.stringify(s);
  const agentCommand = [process.execPath, FIXTURE, 'chatty', String(RATE), '--max-seconds', '3600']
    .map(quote)
    .join(' ');
  process.stdout.write(`fleet footprint — ${machineLine()}\n`);
  process.stdout.write(
    `${LOOPS} loops, each printing ${RATE} lines/s; ${SETTLE_S} s to settle, then a ${WINDOW_S} s window\n\n`,
  );
  for (let i = 0; i < LOOPS; i++) {
    const task = `fleet-${String(i).padStart(3, '0')}`;
    const session = await startLoop(
      {
        taskDir: makeTaskDir(join(home, 'tasks'), task),
        agent: 'custom',
        agentCommand,
        maxIterations: 1,
        iterationTimeoutMs: 3_600_000,
        idleTimeoutMs: 3_600_000,
        readyTimeoutMs: 30_000,
      },
      paths,
    );
    started.push({ task, pid: session.pid });
  }

  const pty = (await import('node-pty')).default;
  tui = pty.spawn(process.execPath, [distFile('cli/main.js'), 'tui'], {
    name: 'xterm-256color',
    cols: 160,
    rows: 50,
    cwd: home,
    env: process.env,
    encoding: null,
  });
  let tuiBytes = 0;
  tui.onData((chunk) => (tuiBytes += chunk.length));
  floor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });

  await sleep(SETTLE_S * 1000);
  const pids = started.map((s) => s.pid);
  const cpu0 = { runners: pids.map(cpuSeconds), tui: cpuSeconds(tui.pid) };
  const bytes0 = tuiBytes;
  const t0 = performance.now();
  await sleep(WINDOW_S * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = { runners: pids.map(cpuSeconds), tui: cpuSeconds(tui.pid) };
  const runners = pids.map(memory);
  const tuiMemory = memory(tui.pid);
  const floorMemory = memory(floor.pid);

  const rss = runners.map((r) => r.rss);
  const runnerCpu = cpu1.runners.reduce((sum, c, i) => sum + c - cpu0.runners[i], 0) / seconds;
  const tuiCpu = (cpu1.tui - cpu0.tui) / seconds;
  const rows = [
    ['runner RSS, median', mb(median(rss))],
    ['runner RSS, max', mb(Math.max(...rss))],
    ['runner RSS, total', mb(rss.reduce((a, b) => a + b, 0))],
    ['runner PSS, median (shared pages divided)', mb(median(runners.map((r) => r.pss)))],
    ['runner private memory, median', mb(median(runners.map((r) => r.private)))],
    ['runner threads, median', String(median(runners.map((r) => r.threads)))],
    ['all runners CPU (of one core)', pct(runnerCpu)],
    ['TUI CPU (of one core)', pct(tuiCpu)],
    ['TUI RSS', mb(tuiMemory.rss)],
    ['TUI output', `${((tuiBytes - bytes0) / seconds / 1024).toFixed(1)} KiB/s`],
    ["floor: node -e 'setInterval(…)' RSS", mb(floorMemory.rss)],
    ["floor: node -e 'setInterval(…)' private memory", mb(floorMemory.private)],
  ];
  process.stdout.write(`${table(['measure', 'value'], rows)}\n\n`);
  const verdicts = {
    runnerRss: verdict(`median runner RSS ${mb(median(rss))} <= 50 MB`, median(rss) <= 50 * MB),
    tuiCpu: verdict(`TUI CPU ${pct(tuiCpu)} <= 10 % of one core`, tuiCpu <= 0.1),
    tuiRss: verdict(`TUI RSS ${mb(tuiMemory.rss)} <= 150 MB`, tuiMemory.rss <= 150 * MB),
  };
  writeSummary({
    bench: 'fleet',
    loops: LOOPS,
    rate: RATE,
    windowSeconds: seconds,
    results: {
      runnerRssMedian: median(rss),
      runnerRssMax: Math.max(...rss),
      runnerThreadsMedian: median(runners.map((r) => r.threads)),
      runnerPssMedian: median(runners.map((r) => r.pss)),
      runnerPrivateMedian: median(runners.map((r) => r.private)),
      runnerCpu,
      tuiCpu,
      tuiRss: tuiMemory.rss,
      floorRss: floorMemory.rss,
      floorPrivate: floorMemory.private,
    },
    verdicts,
  });
}

async function cleanup() {
  tui?.kill('SIGKILL');
  floor?.kill('SIGKILL');
  if (home !== null && started.length > 0) {
    const { stopLoop } = await importDist('src/client/stop.js');
    const { ralphPaths } = await importDist('src/config/paths.js');
    const paths = ralphPaths();
    await Promise.all(
      started.map(async ({ task, pid }) => {
        try {
          await stopLoop(task, { force: true, waitMs: 10_000 }, paths);
        } catch {
          // Only a runner that did not stop when asked is killed, so a reused pid is never signalled.
          try {
            if (pid) process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }),
    );
  }
  removeDir(home);
}

await runMain(main, cleanup);
