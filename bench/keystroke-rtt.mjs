#!/usr/bin/env node
/**
 * Keystroke round trip: one byte sent to a raw-mode echo program in a terminal, timed until the same byte
 * comes back. Measured for ralph (detached runner, attached client over the Unix socket, keyboard lease),
 * for tmux in control mode, and for node-pty in this process, all running the same program.
 *
 *   node bench/keystroke-rtt.mjs [--samples 2000] [--warmup 200] [--time-limit 60] [--only ralph,tmux,node-pty]
 *
 * Target: ralph p50 <= tmux p50 and <= 1 ms. Exits 0 whether or not the target is met; 1 on an error.
 */
import {
  machineLine,
  ms,
  nowMs,
  numberOption,
  runMain,
  summarize,
  table,
  verdict,
  warnIfStale,
  withTimeout,
  writeSummary,
} from './lib/common.mjs';
import { openNodePty, openRalph, openTmux } from './lib/terminals.mjs';

const SAMPLES = numberOption('samples', 2000, { min: 1, max: 100_000 });
const WARMUP = numberOption('warmup', 200, { min: 0, max: 100_000 });
const LIMIT_MS = numberOption('time-limit', 60, { min: 1, max: 600 }) * 1000;
const PER_SAMPLE_TIMEOUT_MS = 5000;
const CHARS = 'abcdefghijklmnopqrstuvwxyz';
const onlyIndex = process.argv.indexOf('--only');
const ONLY = onlyIndex >= 0 ? process.argv[onlyIndex + 1].split(',') : ['node-pty', 'tmux', 'ralph'];

const open = {
  'node-pty': () => openNodePty(['echo']),
  tmux: () => openTmux(['echo']),
  ralph: () => openRalph(['echo'], 'kbd'),
};
let current = null;

/** Sends one letter at a time and waits for it to come back; the clock stops inside the data callback. */
async function sample(terminal) {
  let pending = null;
  const off = terminal.onData((chunk) => {
    if (pending && chunk.includes(pending.byte)) {
      const done = pending;
      pending = null;
      done.resolve(nowMs());
    }
  });
  const times = [];
  const deadline = nowMs() + LIMIT_MS;
  let sent = 0;
  try {
    for (let i = 0; i < WARMUP + SAMPLES && nowMs() < deadline; i++) {
      const ch = CHARS[i % CHARS.length];
      const back = new Promise((resolve) => (pending = { byte: ch.charCodeAt(0), resolve }));
      const t0 = nowMs();
      terminal.send(ch);
      sent += 1;
      const t1 = await withTimeout(back, PER_SAMPLE_TIMEOUT_MS, `the echo of "${ch}" through ${terminal.name}`);
      if (i >= WARMUP) times.push(t1 - t0);
    }
  } finally {
    off();
  }
  if (terminal.errors?.length) throw new Error(`${terminal.name}: ${terminal.errors.slice(0, 3).join('; ')}`);
  return { ...summarize(times), sent, cappedByTime: sent < WARMUP + SAMPLES };
}

async function main() {
  warnIfStale();
  process.stdout.write(`keystroke round trip — ${machineLine()}\n`);
  process.stdout.write(`${SAMPLES} samples after ${WARMUP} warm-up, at most ${LIMIT_MS / 1000} s per variant\n\n`);
  const results = {};
  for (const name of ONLY) {
    if (!open[name]) throw new Error(`unknown variant ${name}; choose from ${Object.keys(open).join(', ')}`);
    current = await open[name]();
    try {
      results[name] = await sample(current);
    } finally {
      const closing = current;
      current = null;
      await closing.close();
    }
  }
  const rows = Object.entries(results).map(([name, r]) => [
    name,
    r.n + (r.cappedByTime ? ' (time cap)' : ''),
    ms(r.p50),
    ms(r.p99),
    ms(r.mean),
    ms(r.min),
    ms(r.max),
  ]);
  process.stdout.write(`${table(['variant', 'n', 'p50', 'p99', 'mean', 'min', 'max'], rows)}\n\n`);
  const verdicts = {};
  const ralph = results.ralph;
  if (ralph && results.tmux) {
    verdicts.vsTmux = verdict(`ralph p50 ${ms(ralph.p50)} <= tmux p50 ${ms(results.tmux.p50)}`, ralph.p50 <= results.tmux.p50);
  }
  if (ralph) verdicts.underOneMs = verdict(`ralph p50 ${ms(ralph.p50)} <= 1 ms`, ralph.p50 <= 1);
  writeSummary({ bench: 'keystroke-rtt', results, verdicts });
}

await runMain(main, async () => {
  if (current) await current.close();
});
