#!/usr/bin/env node
/**
 * PTY output throughput: a program writes a burst of N MiB of 80-column lines as fast as its terminal takes
 * them. ralph: the bytes reach an attached client (`AttachSession`, as `ralph attach`) over the Unix socket in
 * binary terminal frames. Baselines: node-pty reading the same program in this process, and a minimal relay process (node-pty
 * plus raw bytes over a Unix socket, bench/fixtures/relay.mjs) for the cost of the process hop alone. Rounds
 * alternate between the variants.
 *
 *   node bench/throughput.mjs [--mib 64] [--rounds 3] [--time-limit 60]
 *
 * Target: ralph >= 80 % of the node-pty rate (medians). Exits 0 whether or not the target is met; 1 on an error.
 */
import {
  machineLine,
  nowMs,
  numberOption,
  requireBuild,
  runMain,
  table,
  verdict,
  warnIfStale,
  withTimeout,
  writeSummary,
} from './lib/common.mjs';
import { openNodePty, openRalph, openRelay } from './lib/terminals.mjs';

const MIB = numberOption('mib', 64, { min: 1, max: 1024 });
const ROUNDS = numberOption('rounds', 3, { min: 1, max: 20 });
const LIMIT_MS = numberOption('time-limit', 60, { min: 1, max: 600 }) * 1000;
const LINE_BYTES = 80; // 79 characters and "\n" as written
const LINES = Math.floor((MIB * 1024 * 1024) / LINE_BYTES);
const EXPECTED = LINES * (LINE_BYTES + 1); // the terminal turns "\n" into "\r\n"
const QUIET_MS = 300;
const opened = [];

/** Waits until no output has arrived for `QUIET_MS`, so a burst starts from a silent terminal. */
async function quiet(terminal) {
  let last = nowMs();
  const off = terminal.onData(() => (last = nowMs()));
  const deadline = nowMs() + 10_000;
  try {
    while (nowMs() - last < QUIET_MS) {
      if (nowMs() > deadline) throw new Error(`${terminal.name} did not fall silent before a burst`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    off();
  }
}

/** One burst: asks for it, counts bytes until all have arrived (or the time limit), returns MiB/s. */
async function burst(terminal) {
  await quiet(terminal);
  let received = 0;
  let done;
  const complete = new Promise((resolve) => (done = resolve));
  const off = terminal.onData((chunk) => {
    received += chunk.length;
    if (received >= EXPECTED) done(nowMs());
  });
  const t0 = nowMs();
  terminal.send('g');
  let t1;
  let capped = false;
  try {
    t1 = await withTimeout(complete, LIMIT_MS, `${EXPECTED} bytes through ${terminal.name}`);
  } catch {
    t1 = nowMs();
    capped = true;
  } finally {
    off();
  }
  const seconds = (t1 - t0) / 1000;
  if (capped) await quiet(terminal).catch(() => undefined);
  return { mibPerSec: received / (1024 * 1024) / seconds, seconds, bytes: received, capped };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main() {
  requireBuild();
  warnIfStale();
  process.stdout.write(`PTY output throughput — ${machineLine()}\n`);
  process.stdout.write(
    `burst of ${LINES} lines = ${EXPECTED} bytes at the terminal (${(EXPECTED / 1048576).toFixed(1)} MiB), ` +
      `${ROUNDS} rounds per variant, alternating, at most ${LIMIT_MS / 1000} s per burst\n\n`,
  );
  opened.push(await openNodePty(['blast', String(LINES)]));
  opened.push(await openRelay(['blast', String(LINES)]));
  opened.push(await openRalph(['blast', String(LINES)], 'blast'));
  const runs = Object.fromEntries(opened.map((t) => [t.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const terminal of opened) runs[terminal.name].push(await burst(terminal));
  }
  for (const terminal of opened) {
    if (terminal.errors?.length)
      throw new Error(`${terminal.name}: ${terminal.errors.slice(0, 3).join('; ')}`);
  }
  const results = {};
  for (const [name, list] of Object.entries(runs)) {
    const rates = list.map((r) => r.mibPerSec);
    results[name] = {
      medianMiBps: median(rates),
      bestMiBps: Math.max(...rates),
      rounds: list,
      capped: list.some((r) => r.capped),
    };
  }
  const fmt = (v) => `${v.toFixed(1)} MiB/s`;
  const rows = Object.entries(results).map(([name, r]) => [
    name,
    fmt(r.medianMiBps) + (r.capped ? ' (time cap)' : ''),
    fmt(r.bestMiBps),
    r.rounds.map((x) => x.mibPerSec.toFixed(1)).join(' / '),
  ]);
  process.stdout.write(`${table(['variant', 'median', 'best', 'each round (MiB/s)'], rows)}\n\n`);
  const ratio = results.ralph.medianMiBps / results['node-pty'].medianMiBps;
  process.stdout.write(`ratio ralph / node-pty (medians): ${(ratio * 100).toFixed(1)} %\n`);
  const verdicts = {
    ratio: verdict(`ralph throughput ${(ratio * 100).toFixed(1)} % of node-pty >= 80 %`, ratio >= 0.8),
  };
  writeSummary({ bench: 'throughput', mib: EXPECTED / 1048576, results, ratio, verdicts });
}

await runMain(main, async () => {
  const errors = [];
  for (const terminal of opened.splice(0)) await terminal.close().catch((err) => errors.push(err.message));
  if (errors.length > 0) throw new Error(errors.join('; '));
});
