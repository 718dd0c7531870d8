#!/usr/bin/env node
/**
 * `ralph status` wall time with 1,000 registry rows, timed as whole processes (node start-up included).
 * The registry holds 250 tasks of 4 sessions each: 950 ended sessions and 50 sessions still marked open whose
 * runner is gone (25 with a pid that cannot exist, 25 with no pid and no socket), which `status` must
 * reconcile to `crashed`. The "reconcile" rows start every run from a fresh copy of that registry; the other
 * rows run against the registry after reconciliation, where every row is ended. Baselines: `node -e ''` and
 * the sqlite3 command-line tool listing the same table. Two diagnostic rows time importing the command modules
 * alone, to show how much of the wall time is module loading. Commands are run round-robin, from a snapshot copy
 * of the build so that a rebuild during the run cannot change what is timed.
 *
 *   node bench/status.mjs [--runs 10] [--node /path/to/node] [--no-terminal]
 *
 * `--node` runs ralph and the `node -e ''` baseline with another Node binary (for example Node 24); the
 * registry is filled by the Node that runs this script. After the table, the same script times (unless
 * `--no-terminal`) the first TUI frame and the first replayed byte of `ralph attach` in a real terminal, with
 * one loop running, beside a node that prints one byte.
 *
 * Target: every `ralph status` form's median <= 1.5x the median of `node -e ''` (same Node, same run); the
 * absolute times are printed beside it. Exits 0 whether or not the target is met; 1 on an error.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  machineLine,
  ms,
  nowMs,
  numberOption,
  removeDir,
  requireBuild,
  hasFlag,
  runMain,
  stringOption,
  snapshotBuild,
  summarize,
  table,
  tempDir,
  verdict,
  warnIfStale,
  writeSummary,
} from './lib/common.mjs';

const RUNS = numberOption('runs', 10, { min: 1, max: 100 });
const NODE = stringOption('node', process.execPath);
/** The target: ralph status within this multiple of a bare `node -e ''` in the same run. */
const MAX_RATIO = 1.5;
const TASKS = 250;
const PER_TASK = 4;
const STALE_TASKS = 50;
const TERMINAL = ['completed', 'exhausted', 'failed', 'stopped', 'crashed'];
const OPEN = ['running', 'paused', 'interactive', 'stopping'];
/** Above any Linux pid_max (4194304), so the process cannot exist. */
const IMPOSSIBLE_PID = 4_194_305;
const BARE = "baseline: node -e ''";
let home = null;
/** The snapshot of the build every timed command runs from. */
let build = null;
const fromBuild = (relative) => join(build, relative);
const importBuild = (relative) => import(pathToFileURL(fromBuild(relative)).href);

async function fillRegistry(paths) {
  const { Registry } = await importBuild('src/registry/index.js');
  const start = Date.now() - TASKS * PER_TASK * 60_000;
  let tick = 0;
  const registry = Registry.open(paths.registryFile, { now: () => new Date(start + tick * 60_000) });
  try {
    registry.transaction(() => {
      for (let t = 0; t < TASKS; t++) {
        const task = `task-${String(t).padStart(3, '0')}`;
        for (let k = 0; k < PER_TASK; k++) {
          tick += 1;
          const stale = t >= TASKS - STALE_TASKS && k === PER_TASK - 1;
          const status = stale ? OPEN[t % OPEN.length] : TERMINAL[(t + k) % TERMINAL.length];
          registry.create({
            task,
            location: 'local',
            transport: 'unix',
            address: join(paths.runDir, `${task}.sock`),
            agent: ['claude', 'codex', 'amp', 'custom'][t % 4],
            taskDir: `/home/user/projects/p${t}/tasks/${task}`,
            maxIterations: 25,
            iteration: (t * 7 + k) % 25,
            currentStory: `US-${String((k % 9) + 1).padStart(3, '0')}`,
            branch: `ralph/${task}`,
            status,
            pid: stale ? (t % 2 === 0 ? IMPOSSIBLE_PID : null) : 10_000 + t,
            startedAt: new Date(start + tick * 60_000).toISOString(),
            exitReason: stale ? null : `${status} after ${k + 1} iterations`,
          });
        }
      }
    });
  } finally {
    registry.close();
  }
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(paths.registryFile + suffix)) throw new Error(`registry ${suffix} file left after close`);
  }
}

/** A script that only imports one built module, to time module loading by itself. */
function importOnly(relative) {
  return `await import(${JSON.stringify(pathToFileURL(fromBuild(relative)).href)});`;
}

function run(argv, check) {
  const t0 = nowMs();
  const result = spawnSync(argv[0], argv.slice(1), {
    encoding: 'utf8',
    env: process.env,
    maxBuffer: 64 << 20,
  });
  const elapsed = nowMs() - t0;
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${argv.join(' ')} exited ${result.status}: ${result.stderr.trim().slice(0, 500)}`);
  }
  check?.(result.stdout);
  return elapsed;
}

const expectJson = (sessions, crashed) => (stdout) => {
  const out = JSON.parse(stdout);
  if (out.sessions.length !== sessions || out.reconciled.crashed.length !== crashed) {
    throw new Error(
      `status --json listed ${out.sessions.length} sessions and ${out.reconciled.crashed.length} crashed`,
    );
  }
};
const expectLines = (min) => (stdout) => {
  const lines = stdout.trim().split('\n').length;
  if (lines < min) throw new Error(`expected at least ${min} lines of output, got ${lines}`);
};

async function main() {
  requireBuild();
  warnIfStale();
  home = tempDir('status');
  mkdirSync(join(home, 'build'));
  build = snapshotBuild(join(home, 'build'));
  process.env.RALPH_HOME = home;
  delete process.env.FORCE_COLOR;
  const { ralphPaths } = await importBuild('src/config/paths.js');
  const paths = ralphPaths();
  const node = NODE;
  const nodeVersion = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  // The installed `ralph` (package.json's bin): the entry that turns the compile cache on, where the build has it.
  const bin = existsSync(fromBuild('cli/ralph.js')) ? 'cli/ralph.js' : 'cli/main.js';
  const ralph = [node, fromBuild(bin)];
  await fillRegistry(paths);
  const pristine = join(home, 'pristine.sqlite3');
  copyFileSync(paths.registryFile, pristine);
  const resetRegistry = () => {
    for (const suffix of ['-wal', '-shm']) rmSync(paths.registryFile + suffix, { force: true });
    copyFileSync(pristine, paths.registryFile);
  };
  const sqlite = spawnSync('sqlite3', ['-version'], { encoding: 'utf8' });
  const commands = [
    {
      label: 'ralph status --json (reconciles 50 stale rows)',
      argv: [...ralph, 'status', '--json'],
      before: resetRegistry,
      check: expectJson(TASKS, STALE_TASKS),
    },
    { label: 'ralph status', argv: [...ralph, 'status'], check: expectLines(TASKS + 1), target: true },
    { label: 'ralph status --json', argv: [...ralph, 'status', '--json'], check: expectJson(TASKS, 0) },
    {
      label: 'ralph status --all',
      argv: [...ralph, 'status', '--all'],
      check: expectLines(TASKS * PER_TASK + 1),
    },
    {
      label: 'ralph status --all --json',
      argv: [...ralph, 'status', '--all', '--json'],
      check: expectJson(TASKS * PER_TASK, 0),
    },
    { label: BARE, argv: [node, '-e', ''] },
    // Where the time goes: loading modules, with no registry work at all.
    {
      label: 'diagnostic: import every command module',
      argv: [node, '--input-type=module', '-e', importOnly('cli/commands/index.js')],
    },
    {
      label: 'diagnostic: import the status command only',
      argv: [node, '--input-type=module', '-e', importOnly('cli/commands/status.js')],
    },
  ];
  if (!sqlite.error && sqlite.status === 0) {
    commands.push({
      label: 'baseline: sqlite3 SELECT * FROM sessions',
      argv: ['sqlite3', paths.registryFile, 'SELECT * FROM sessions'],
      check: expectLines(TASKS * PER_TASK),
    });
  }
  process.stdout.write(
    `ralph status wall time — ${machineLine()}; timed commands run on node ${nodeVersion}\n`,
  );
  process.stdout.write(
    `${TASKS * PER_TASK} registry rows (${TASKS} tasks); ${RUNS} timed runs per command after 1 warm-up, round-robin` +
      `${sqlite.error ? '; sqlite3 not installed, its baseline is skipped' : ''}\n\n`,
  );
  // The first pass reconciles the pristine registry and checks every command works; it is not timed.
  for (const c of commands) {
    c.before?.();
    run(c.argv, c.check);
    c.times = [];
  }
  for (let i = 0; i < RUNS; i++) {
    for (const c of commands) {
      c.before?.();
      c.times.push(run(c.argv, c.check));
    }
  }
  const rows = [];
  const results = {};
  const bare = summarize(commands.find((c) => c.label === BARE).times).p50;
  for (const c of commands) {
    const s = summarize(c.times);
    const ratio = s.p50 / bare;
    results[c.label] = { median: s.p50, p90: s.p90, min: s.min, max: s.max, n: s.n, ratio };
    rows.push([c.label, ms(s.p50, 1), `${ratio.toFixed(2)}x`, ms(s.p90, 1), ms(s.min, 1), ms(s.max, 1)]);
  }
  process.stdout.write(`${table(['command', 'median', 'vs node', 'p90', 'min', 'max'], rows)}\n\n`);
  const verdicts = {};
  for (const c of commands.filter((x) => x.label.startsWith('ralph'))) {
    const { median, ratio } = results[c.label];
    const v = verdict(
      `${c.label}: median ${ms(median, 1)} is ${ratio.toFixed(2)}x node -e '' (target <= ${MAX_RATIO}x)`,
      ratio <= MAX_RATIO,
    );
    if (c.target) verdicts.status = v;
  }
  const terminal = hasFlag('no-terminal') ? undefined : await timeTerminals(ralph, node);
  writeSummary({ bench: 'status', node: nodeVersion, rows: TASKS * PER_TASK, results, verdicts, terminal });
}

/**
 * In a real terminal, with one loop running: time to the first TUI frame that lists the loop, and to the
 * first replayed byte of `ralph attach --read-only` (the loop printed READY when it started), beside a
 * bare node that prints one byte, spawned the same way. Round-robin, RUNS times each.
 */
async function timeTerminals(ralph, node) {
  const { openRalph } = await import('./lib/terminals.mjs');
  const { timeToText } = await import('./lib/first-output.mjs');
  const task = 'firstbyte';
  const loop = await openRalph(['echo'], task);
  try {
    const env = { ...process.env };
    const commands = [
      {
        label: 'baseline: node prints a byte',
        argv: [node, '-e', "process.stdout.write('NODE-UP')"],
        text: 'NODE-UP',
      },
      { label: 'ralph tui: first frame listing the loop', argv: [...ralph, 'tui'], text: task },
      {
        label: 'ralph attach --read-only: first replayed byte',
        argv: [...ralph, 'attach', task, '--read-only'],
        text: 'READY',
      },
    ];
    for (const c of commands) {
      await timeToText(c.argv, c.text, env);
      c.times = [];
    }
    for (let i = 0; i < RUNS; i++)
      for (const c of commands) c.times.push(await timeToText(c.argv, c.text, env));
    const base = summarize(commands[0].times).p50;
    const rows = [];
    const results = {};
    for (const c of commands) {
      const s = summarize(c.times);
      results[c.label] = { median: s.p50, p90: s.p90, ratio: s.p50 / base, n: s.n };
      rows.push([
        c.label,
        ms(s.p50, 1),
        `${(s.p50 / base).toFixed(2)}x`,
        ms(s.p90, 1),
        ms(s.min, 1),
        ms(s.max, 1),
      ]);
    }
    process.stdout.write(`\nIn a terminal (node-pty), one loop running; ${RUNS} runs each, round-robin\n\n`);
    process.stdout.write(`${table(['command', 'median', 'vs node', 'p90', 'min', 'max'], rows)}\n`);
    return results;
  } finally {
    await loop.close();
  }
}

await runMain(main, async () => removeDir(home));
