#!/usr/bin/env node
/**
 * Attaching to a remote loop, against what it stands on and what users do today (issue #10, acceptance 4).
 * In one run, on one OpenZiti test network:
 *   (a) raw SDK: our SDK's echo over the overlay, host bound inside a network namespace (the floor);
 *   (b) ssh+tmux: `ssh -tt` to a private sshd on 127.0.0.1 attaching a tmux session running `cat` (keys) or the
 *       blast program (output);
 *   (c) local: a real ralph runner attached over its Unix socket (`AttachSession`, as `ralph attach`);
 *   (d) daemon: the same loop started by `ralph daemon` inside the namespace, attached from the root namespace
 *       through the overlay (`open_loop` hand-over), when the build has the daemon and its client;
 *   then (e) the daemon's footprint with 50 loops and 100 watchers and (f) `ralph status` with 3 remotes, one
 *   unreachable (bench/lib/remote-daemon.mjs, same condition).
 * Keystroke round trips are sampled round-robin over (a)-(d) in a shuffled order; output bursts alternate.
 *
 *   node bench/remote-attach.mjs [--samples 1000] [--warmup 300] [--time-limit 60] [--mib 16] [--rounds 3]
 *                                [--no-netns] [--no-ssh] [--no-daemon]
 *
 * Without root or `ip netns` (or with --no-netns) the echo host and the daemon run in the root namespace and
 * the network listens on 127.0.0.1. Targets (printed, never asserted): daemon RTT p50 <= raw SDK p50 + 0.15 ms
 * and <= ssh+tmux p50; daemon throughput >= 50 % of the raw SDK's. Exits 0 whether or not they are met, 1 on an
 * error, 2 without a build. Without a `ziti` CLI it prints a notice and exits 0.
 */
import { join } from 'node:path';
import { createNetns, netnsUnavailableReason } from '../scripts/netns-lib.mjs';
import { findZitiBinary, INSTALL_HINT, startTestNetwork } from '../scripts/ziti-testnet-lib.mjs';
import {
  FIXTURE,
  hasFlag,
  hasProgram,
  importDist,
  machineLine,
  ms,
  numberOption,
  requireBuild,
  ROOT,
  runMain,
  table,
  verdict,
  warnIfStale,
  withTimeout,
  writeSummary,
} from './lib/common.mjs';
import {
  markerBurst,
  median,
  ptyTerminal,
  sampleRoundRobin,
  settle,
  streamTerminal,
  waitText,
} from './lib/remote-measure.mjs';
import { startPrivateSshd } from './lib/sshd.mjs';
import { openRalph } from './lib/terminals.mjs';
import { startEchoHost } from './ziti-host-process.mjs';
import { streamDriver } from './ziti-measure.mjs';

const SAMPLES = numberOption('samples', 1000, { min: 10, max: 100_000 });
const WARMUP = numberOption('warmup', 300, { min: 0, max: 100_000 });
const LIMIT_MS = numberOption('time-limit', 60, { min: 5, max: 600 }) * 1000;
const MIB = numberOption('mib', 16, { min: 1, max: 256 });
const ROUNDS = numberOption('rounds', 3, { min: 1, max: 10 });
const LINE_BYTES = 80;
const LINES = Math.floor((MIB * 1024 * 1024) / LINE_BYTES);
const PROGRAM_BYTES = LINES * (LINE_BYTES + 1); // "\n" becomes "\r\n" at the terminal
const BLAST = ['blast', String(LINES), '--end-marker'];

const cleanups = [];
const out = (line = '') => process.stdout.write(`${line}\n`);

/** The network: on the root side of a veth when namespaces work, else on loopback. */
async function startTopology() {
  const reason = hasFlag('no-netns') ? '--no-netns' : netnsUnavailableReason();
  let ns = null;
  if (reason === null) {
    ns = createNetns();
    cleanups.push(() => ns.destroy());
  } else {
    out(`network namespace: not used (${reason}); everything runs in the root namespace on 127.0.0.1`);
  }
  process.stderr.write('starting the OpenZiti test network ...\n');
  const net = await startTestNetwork({ host: ns?.hostAddress, timeoutMs: 180_000 });
  cleanups.push(() => net.stop());
  return { ns, net };
}

/** (a) The echo host (our SDK) bound in the namespace; a connection dialed from here as a terminal. */
async function openRawSdk({ ns, net }) {
  const wrap = ns ? ['ip', 'netns', 'exec', ns.name] : [];
  const host = await startEchoHost(
    join(ROOT, 'bench', 'ziti-echo-host.mjs'),
    net.identities.server.file,
    [net.services.e2ee],
    90_000,
    wrap,
  );
  cleanups.push(() => host.stop());
  const sdk = await importDist('src/ziti/index.js');
  const ctx = await sdk.ZitiContext.fromIdentityFile(net.identities.client.file);
  cleanups.push(() => ctx.close());
  const open = () => ctx.dial(net.services.e2ee, { timeoutMs: 15_000 });
  const conn = await open();
  const terminal = streamTerminal('raw SDK echo', conn);
  const driver = streamDriver(open);
  terminal.burst = async () => {
    const mibPerSec = await driver.throughput(MIB * 1048576, 64 * 1024, LIMIT_MS);
    return { mibPerSec, seconds: MIB / mibPerSec, received: MIB * 1048576 };
  };
  return terminal;
}

/** (b) ssh -tt to a private sshd, attaching tmux sessions: `cat` for keys, the blast program for output. */
async function openSshTmux() {
  const sshd = await startPrivateSshd();
  cleanups.push(() => sshd.stop());
  sshd.session('keys', ['cat']);
  sshd.session('blast', [process.execPath, FIXTURE, ...BLAST]);
  const env = { ...process.env };
  delete env.TMUX;
  const keys = await ptyTerminal('ssh+tmux', sshd.attachArgv('keys'), { env });
  cleanups.push(() => keys.close());
  await withTimeout(new Promise((resolve) => keys.onData(resolve)), 20_000, 'ssh to attach the tmux session');
  await settle(keys, 500);
  keys.resetEvery = 64;
  const blast = await ptyTerminal('ssh+tmux blast', sshd.attachArgv('blast'), { env });
  cleanups.push(() => blast.close());
  await waitText(blast, 'READY', 20_000);
  keys.burst = () => markerBurst(blast, PROGRAM_BYTES, LIMIT_MS);
  return keys;
}

/** (c) A real runner attached locally over its Unix socket. */
async function openLocal() {
  const keys = await openRalph(['echo'], 'kbd');
  cleanups.push(() => keys.close());
  const blast = await openRalph(BLAST, 'blast');
  cleanups.push(() => blast.close());
  keys.name = 'local attach';
  keys.burst = () => markerBurst(blast, PROGRAM_BYTES, LIMIT_MS);
  return keys;
}

function report(rtt, bursts, extra) {
  out(`\n${machineLine()}`);
  out(
    `keystroke RTT: ${SAMPLES} samples after ${WARMUP} warm-up per variant, round-robin, shuffled, ` +
      `at most ${LIMIT_MS / 1000} s`,
  );
  const names = Object.keys(rtt);
  out(
    table(
      ['variant', 'n', 'p50', 'p99', 'mean', 'output MiB/s (median)', 'each round'],
      names.map((name) => {
        const r = rtt[name];
        const b = bursts[name] ?? [];
        return [
          name,
          r.n + (r.cappedByTime ? ' (time cap)' : ''),
          ms(r.p50),
          ms(r.p99),
          ms(r.mean),
          b.length ? median(b.map((x) => x.mibPerSec)).toFixed(1) : '-',
          b.map((x) => x.mibPerSec.toFixed(1)).join(' / '),
        ];
      }),
    ),
  );
  out(
    `output: ${MIB} MiB per burst (${PROGRAM_BYTES} bytes at the terminal), timed until the program's end ` +
      'marker is seen; raw SDK: echo of the same payload over one connection (MiB/s of payload)',
  );
  const verdicts = {};
  const raw = rtt['raw SDK echo'];
  const ssh = rtt['ssh+tmux'];
  const rawMiB = bursts['raw SDK echo'] ? median(bursts['raw SDK echo'].map((x) => x.mibPerSec)) : undefined;
  for (const name of ['daemon attach', 'local attach']) {
    const r = rtt[name];
    if (!r) continue;
    out(`\n${name}:`);
    if (raw) {
      verdicts[`${name} rtt vs raw`] = verdict(
        `${name} RTT p50 ${ms(r.p50)} <= raw SDK echo p50 ${ms(raw.p50)} + 0.15 ms`,
        r.p50 <= raw.p50 + 0.15,
      );
    }
    if (ssh) {
      verdicts[`${name} rtt vs ssh`] = verdict(
        `${name} RTT p50 ${ms(r.p50)} <= ssh+tmux p50 ${ms(ssh.p50)}`,
        r.p50 <= ssh.p50,
      );
    }
    const mine = bursts[name] ? median(bursts[name].map((x) => x.mibPerSec)) : undefined;
    if (mine !== undefined && rawMiB !== undefined) {
      verdicts[`${name} throughput`] = verdict(
        `${name} output ${mine.toFixed(1)} MiB/s >= 50 % of raw SDK ${rawMiB.toFixed(1)} MiB/s ` +
          `(${((mine / rawMiB) * 100).toFixed(0)} %)`,
        mine >= rawMiB * 0.5,
      );
    }
  }
  for (const line of extra.lines) out(line);
  Object.assign(verdicts, extra.verdicts);
  return verdicts;
}

async function main() {
  requireBuild();
  warnIfStale();
  if (!findZitiBinary()) {
    out(`SKIPPED: the ziti CLI was not found; ${INSTALL_HINT}`);
    writeSummary({ bench: 'remote-attach', skipped: 'no ziti CLI' });
    return;
  }
  const topology = await startTopology();
  const terminals = [await openRawSdk(topology)];
  if (!hasFlag('no-ssh') && hasProgram('tmux')) terminals.push(await openSshTmux());
  else out('ssh+tmux: skipped (--no-ssh or no tmux)');
  terminals.push(await openLocal());
  const daemonParts = hasFlag('no-daemon') ? null : await import('./lib/remote-daemon.mjs');
  const failures = [];
  let daemon = null;
  try {
    daemon = await daemonParts?.openDaemonLoop(topology, cleanups, BLAST, PROGRAM_BYTES, LIMIT_MS);
  } catch (err) {
    failures.push(`daemon attach: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (daemon) terminals.push(daemon);
  else
    out('daemon attach: not measured (no daemon or remote client in the build, --no-daemon, or it failed)');

  process.stderr.write('sampling keystroke round trips ...\n');
  const rtt = await sampleRoundRobin(terminals, { samples: SAMPLES, warmup: WARMUP, limitMs: LIMIT_MS });
  process.stderr.write('timing output bursts ...\n');
  const bursts = Object.fromEntries(terminals.map((t) => [t.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of terminals) bursts[t.name].push(await t.burst());
  }
  let extra = { lines: [], verdicts: {} };
  if (daemon) {
    try {
      extra = await daemonParts.footprintAndStatus(topology, cleanups);
    } catch (err) {
      failures.push(`daemon footprint / status: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const verdicts = report(rtt, bursts, extra);
  for (const failure of failures) out(`FAILED  ${failure}`);
  writeSummary({ bench: 'remote-attach', rtt, bursts, verdicts, extra: extra.results ?? null, failures });
  if (failures.length > 0) throw new Error(`${failures.length} part(s) failed (see FAILED lines)`);
}

await runMain(main, async () => {
  const errors = [];
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await withTimeout(Promise.resolve().then(cleanup), 30_000, 'a clean-up step');
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (errors.length > 0) throw new Error(errors.join('; '));
});
