#!/usr/bin/env node
/**
 * Keystroke round trip: one byte sent to a raw-mode echo program in a terminal, timed until the same byte
 * comes back. Measured for ralph (detached runner, attached client over the Unix socket, keyboard lease),
 * for tmux in control mode, for node-pty in this process, and for a minimal Node relay process (node-pty plus
 * raw bytes over a Unix socket), all running the same program.
 *
 *   node bench/keystroke-rtt.mjs [--samples 2000] [--warmup 2000] [--time-limit 60]
 *                                [--only node-pty,relay,tmux,ralph] [--fixed-order]
 *
 * Every round samples each variant once, in a new random order: whatever a variant's processes still do
 * after its echo has arrived (tmux's server and client, ralph's log write) lands on whichever variant comes
 * next, and with a fixed order that would always be the same one. --fixed-order keeps the order given.
 *
 * Target: ralph p50 <= tmux p50 and <= 1 ms. Exits 0 whether or not the target is met; 1 on an error.
 */
import {
  hasFlag,
  hasProgram,
  machineLine,
  ms,
  nowMs,
  numberOption,
  requireBuild,
  runMain,
  summarize,
  table,
  verdict,
  warnIfStale,
  writeSummary,
} from './lib/common.mjs';
import { prober, shuffle } from './lib/remote-measure.mjs';
import { openNodePty, openRalph, openRelay, openTmux } from './lib/terminals.mjs';

const SAMPLES = numberOption('samples', 2000, { min: 1, max: 100_000 });
// The runner's request path takes a couple of thousand keystrokes to be fully optimised by the JIT (p50 falls
// from ~0.3 ms to ~0.15 ms on the reference machine); the first COLD_SAMPLES are reported separately.
const WARMUP = numberOption('warmup', 2000, { min: 0, max: 100_000 });
const COLD_SAMPLES = 200;
const LIMIT_MS = numberOption('time-limit', 60, { min: 1, max: 600 }) * 1000;
const FIXED_ORDER = hasFlag('fixed-order');
const onlyIndex = process.argv.indexOf('--only');
const ONLY =
  onlyIndex >= 0 ? (process.argv[onlyIndex + 1] ?? '').split(',') : ['node-pty', 'relay', 'tmux', 'ralph'];

const open = {
  'node-pty': () => openNodePty(['echo']),
  relay: () => openRelay(['echo']),
  tmux: () => openTmux(['echo']),
  ralph: () => openRalph(['echo'], 'kbd'),
};
const opened = [];

/**
 * Samples every open terminal once per round (round-robin, shuffled each round unless --fixed-order), so a
 * burst of load from other processes on the machine lands on all variants alike instead of on whichever ran
 * at that moment, and no variant always follows the same other one.
 */
async function sampleInterleaved(terminals) {
  const probes = terminals.map((t) => ({ terminal: t, probe: prober(t), times: [], cold: [] }));
  const deadline = nowMs() + LIMIT_MS;
  let rounds = 0;
  try {
    const order = [...probes];
    while (rounds < WARMUP + SAMPLES && nowMs() < deadline) {
      if (!FIXED_ORDER) shuffle(order);
      for (const p of order) {
        const t = await p.probe.once();
        if (rounds >= WARMUP) p.times.push(t);
        else if (rounds < COLD_SAMPLES) p.cold.push(t);
      }
      rounds += 1;
    }
  } finally {
    for (const p of probes) p.probe.off();
  }
  const results = {};
  for (const { terminal, times, cold } of probes) {
    if (terminal.errors?.length)
      throw new Error(`${terminal.name}: ${terminal.errors.slice(0, 3).join('; ')}`);
    if (times.length === 0)
      throw new Error(`the ${LIMIT_MS / 1000} s limit ended the run before any timed sample`);
    results[terminal.name] = {
      ...summarize(times),
      coldP50: summarize(cold).p50,
      cappedByTime: rounds < WARMUP + SAMPLES,
    };
  }
  return results;
}

async function main() {
  requireBuild();
  warnIfStale();
  process.stdout.write(`keystroke round trip — ${machineLine()}\n`);
  process.stdout.write(
    `${SAMPLES} samples after ${WARMUP} warm-up per variant, interleaved round-robin ` +
      `(${FIXED_ORDER ? 'fixed order' : 'shuffled each round'}), back to back, ` +
      `at most ${LIMIT_MS / 1000} s\n\n`,
  );
  for (const name of ONLY) {
    if (!open[name]) throw new Error(`unknown variant ${name}; choose from ${Object.keys(open).join(', ')}`);
    if (name === 'tmux' && !hasProgram('tmux')) {
      process.stdout.write('tmux is not installed; its baseline is skipped\n\n');
      continue;
    }
    opened.push(await open[name]());
  }
  const results = await sampleInterleaved(opened);
  const rows = Object.entries(results).map(([name, r]) => [
    name,
    r.n + (r.cappedByTime ? ' (time cap)' : ''),
    ms(r.p50),
    ms(r.p99),
    ms(r.mean),
    ms(r.min),
    ms(r.max),
    ms(r.coldP50),
  ]);
  const header = ['variant', 'n', 'p50', 'p99', 'mean', 'min', 'max', `first ${COLD_SAMPLES}: p50`];
  process.stdout.write(`${table(header, rows)}\n\n`);
  const verdicts = {};
  const ralph = results.ralph;
  if (ralph && results.tmux) {
    verdicts.vsTmux = verdict(
      `ralph p50 ${ms(ralph.p50)} <= tmux p50 ${ms(results.tmux.p50)}`,
      ralph.p50 <= results.tmux.p50,
    );
  }
  if (ralph) verdicts.underOneMs = verdict(`ralph p50 ${ms(ralph.p50)} <= 1 ms`, ralph.p50 <= 1);
  writeSummary({ bench: 'keystroke-rtt', results, verdicts });
}

await runMain(main, async () => {
  const errors = [];
  for (const terminal of opened.splice(0)) await terminal.close().catch((err) => errors.push(err.message));
  if (errors.length > 0) throw new Error(errors.join('; '));
});
