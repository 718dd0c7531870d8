/**
 * Shared pieces of the benchmark scripts: loading the built code, statistics, formatting, temporary
 * folders, bounded waits and the summary each script hands to run-all.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The build under test; BENCH_DIST points at another one (e.g. a patched copy, to compare two builds). */
export const DIST = process.env.BENCH_DIST ? resolve(process.env.BENCH_DIST) : join(ROOT, 'dist');
export const FIXTURE = join(ROOT, 'bench', 'fixtures', 'pty-program.mjs');
export const RELAY = join(ROOT, 'bench', 'fixtures', 'relay.mjs');

/** The path of a file of the built package, or exits with a message saying how to build it. */
export function distFile(relative) {
  const file = join(DIST, relative);
  if (!existsSync(file)) {
    process.stderr.write(
      `bench: ${relative} is missing from the build (${file}).\n` +
        'bench: the benchmarks run the built code; build it first: npm run build\n',
    );
    process.exit(2);
  }
  return file;
}

/** Exits with a build hint unless every built file the benchmarks start from is there. */
export function requireBuild() {
  for (const file of ['cli/main.js', 'src/client/start.js', 'src/loop/runner-entry.js']) distFile(file);
}

/** True when `command --version`-style probing of a program on PATH succeeds. */
export function hasProgram(command, args = ['-V']) {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return !result.error && result.status === 0;
}

/**
 * Copies the build into `dir` (with links to this checkout's package.json and node_modules) and returns the
 * copy's dist folder, so that a rebuild while a benchmark runs cannot change or break the code it times.
 */
export function snapshotBuild(dir) {
  requireBuild();
  const copy = join(dir, 'dist');
  cpSync(DIST, copy, { recursive: true });
  symlinkSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return copy;
}

/** Imports a module of the built package, or exits with a message saying how to build it. */
export async function importDist(relative) {
  return import(pathToFileURL(distFile(relative)).href);
}

/** Warns when a TypeScript source is newer than the build, so stale figures are not mistaken for fresh ones. */
export function warnIfStale() {
  if (process.env.BENCH_DIST) return;
  const built = join(DIST, 'cli', 'main.js');
  if (!existsSync(built)) return;
  const builtAt = statSync(built).mtimeMs;
  const newer = [];
  for (const dir of ['src', 'cli'])
    walk(join(ROOT, dir), (file, mtime) => mtime > builtAt && newer.push(file));
  if (newer.length > 0) {
    process.stderr.write(
      `bench: warning: ${newer.length} source file(s) changed since dist/ was built ` +
        `(e.g. ${newer[0].slice(ROOT.length)}); rebuild with: npm run build\n`,
    );
  }
}

function walk(dir, visit, depth = 0) {
  if (depth > 8 || !existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, visit, depth + 1);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      visit(path, statSync(path).mtimeMs);
  }
}

/** Numeric command-line option `--name value`, with a default and bounds. */
export function numberOption(name, fallback, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value < min || value > max) {
    process.stderr.write(`bench: --${name} must be a number between ${min} and ${max}\n`);
    process.exit(2);
  }
  return value;
}

/** String command-line option `--name value`, with a default. */
export function stringOption(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = process.argv[i + 1];
  if (value === undefined || value.startsWith('--')) {
    process.stderr.write(`bench: --${name} needs a value\n`);
    process.exit(2);
  }
  return value;
}

export function hasFlag(name) {
  return process.argv.includes(`--${name}`);
}

/** Nanosecond clock, as a Number of milliseconds with sub-microsecond resolution. */
export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** p50/p90/p99/mean/min/max of a list of milliseconds. */
export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return {
    n: sorted.length,
    p50: pick(0.5),
    p90: pick(0.9),
    p99: pick(0.99),
    mean,
    min: sorted[0],
    max: sorted.at(-1),
  };
}

export function ms(value, digits = 3) {
  return value === undefined || Number.isNaN(value) ? '-' : `${value.toFixed(digits)} ms`;
}

/** Left-aligned text table. */
export function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => String(c).padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Prints a target verdict line; returns the verdict. */
export function verdict(label, ok) {
  process.stdout.write(`${ok ? 'PASS' : 'MISS'}  ${label}\n`);
  return ok ? 'PASS' : 'MISS';
}

export function machineLine() {
  const cpu = cpus();
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return (
    `machine: ${cpu.length} cores (${cpu[0]?.model ?? 'unknown cpu'}), node ${process.version}, ` +
    `${process.platform}, load average ${load}`
  );
}

/** A private temporary folder, removed by `cleanup()`. Short paths keep socket names under the limit. */
export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), `rb-${prefix}-`));
}

export function removeDir(dir) {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** Rejects after `ms` with a message naming what was awaited. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A task folder whose single story never passes, so the loop keeps its agent running. */
export function makeTaskDir(parent, name) {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  const prd = {
    project: 'Bench',
    branchName: 'bench/main',
    description: 'benchmark task',
    userStories: [
      {
        id: 'US-001',
        title: 'Never passes',
        description: 'Keeps the loop running while it is measured.',
        acceptanceCriteria: ['none'],
        priority: 1,
        passes: false,
        notes: '',
      },
    ],
  };
  writeFileSync(join(dir, 'prd.json'), JSON.stringify(prd, null, 2));
  writeFileSync(join(dir, 'prompt.md'), 'Benchmark prompt.\n');
  return dir;
}

/** Writes the script's results where run-all asked for them (BENCH_SUMMARY_FILE), if it did. */
export function writeSummary(summary) {
  const file = process.env.BENCH_SUMMARY_FILE;
  if (!file) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(summary, null, 2));
}

/** Runs `main`, printing an error and exiting 1 if it throws; cleanup always runs. */
export async function runMain(main, cleanup = async () => undefined) {
  let failed = false;
  try {
    await main();
  } catch (err) {
    failed = true;
    process.stderr.write(
      `bench: error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  } finally {
    try {
      await cleanup();
    } catch (err) {
      process.stderr.write(`bench: cleanup failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  process.exit(failed ? 1 : 0);
}
