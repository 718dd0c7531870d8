#!/usr/bin/env node
/**
 * `ralph status` with remotes (issue #10, acceptance 4, part (f) of bench/remote-attach.mjs on its own): one
 * OpenZiti test network, one `ralph daemon` in this namespace, and four laptops (RALPH_HOMEs): no remote,
 * two reachable remotes (through the link, which the untimed first pass starts), the same with RALPH_NO_LINK=1
 * (each status dials itself), and three remotes of which one's controller never answers. Each build given with
 * --dist is timed round-robin against the others in the same run, and one run is broken down step by step.
 *
 *   node bench/status-remotes.mjs [--runs 7] [--timeout 3000] [--loops 0] [--dist dist] [--dist other-dist ...]
 *
 * With --loops N the box runs N idle loops (the echo program) first, so every reachable remote lists N rows and
 * each status with two remotes takes 2 × N rows into the laptop's registry (bench/remote-attach.mjs runs 50).
 *
 * Targets (printed, never asserted): reachable <= local + 50 ms; one unreachable: max <= local + timeout.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { blackHole, startDaemon } from './lib/remote-daemon.mjs';
import { provisionDaemon } from '../scripts/ziti-testnet/daemon-box.mjs';
import { findZitiBinary, INSTALL_HINT, startTestNetwork } from '../scripts/ziti-testnet-lib.mjs';
import {
  FIXTURE,
  machineLine,
  makeTaskDir,
  ms,
  nowMs,
  numberOption,
  ROOT,
  runMain,
  summarize,
  table,
  tempDir,
  removeDir,
} from './lib/common.mjs';

const RUNS = numberOption('runs', 7, { min: 1, max: 100 });
const TIMEOUT_MS = numberOption('timeout', 3000, { min: 100, max: 60_000 });
const LOOPS = numberOption('loops', 0, { min: 0, max: 500 });
const dists = [];
for (let i = 0; i < process.argv.length; i++) {
  if (process.argv[i] === '--dist' && process.argv[i + 1]) dists.push(resolve(process.argv[i + 1]));
}
if (dists.length === 0) dists.push(join(ROOT, 'dist'));

const NO_LINK = 'two reachable remotes, no link';

function ralph(dist, home, args, env = {}) {
  const started = nowMs();
  const r = spawnSync(process.execPath, [join(dist, 'cli', 'main.js'), ...args], {
    env: { ...process.env, RALPH_HOME: home, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0 && args[0] !== 'status' && args[0] !== 'link')
    throw new Error(`ralph ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: nowMs() - started };
}

const cleanups = [];

async function main() {
  if (!findZitiBinary()) {
    process.stdout.write(`no ziti CLI: ${INSTALL_HINT}\n`);
    return;
  }
  process.stdout.write(`${machineLine()}\n`);
  const net = await startTestNetwork();
  cleanups.push(() => net.stop());
  const root = tempDir('status-remotes');
  cleanups.push(() => removeDir(root));
  const service = `ralph-status-bench-${process.pid}`;
  const workspace = join(root, 'work');
  mkdirSync(workspace, { recursive: true });
  const configFile = join(root, 'daemon.jsonc');
  await provisionDaemon(net, { service, workspace, configFile, maxLoops: Math.max(10, LOOPS + 5) });
  // The box runs the first build (or BENCH_DIST); the builds compared are the laptop's.
  const boxHome = join(root, 'box');
  const box = await startDaemon({ ns: null }, boxHome, configFile);
  cleanups.push(() => box.child.kill('SIGTERM'));
  const hole = await blackHole();
  cleanups.push(() => hole.close());
  const dead = JSON.parse(readFileSync(net.identities.client.file, 'utf8'));
  dead.ztAPI = `https://127.0.0.1:${hole.port}/edge/client/v1`;
  const deadFile = join(root, 'dead-identity.json');
  writeFileSync(deadFile, JSON.stringify(dead), { mode: 0o600 });

  const cases = ['local only', 'two reachable remotes', NO_LINK, 'three remotes, one unreachable'];
  const caseEnv = (label) => (label === NO_LINK ? { RALPH_NO_LINK: '1' } : {});
  const homes = new Map();
  for (const [d, dist] of dists.entries()) {
    for (const label of cases) {
      const home = join(root, `b${d}-${label.replace(/\W+/g, '-')}`);
      mkdirSync(home, { recursive: true });
      if (label !== 'local only') {
        for (const name of ['box', 'box-b'])
          ralph(dist, home, [
            'remote',
            'add',
            name,
            '--identity',
            net.identities.client.file,
            '--service',
            service,
          ]);
      }
      if (label.startsWith('three'))
        ralph(dist, home, ['remote', 'add', 'dead', '--identity', deadFile, '--service', 'ralph-nobody']);
      homes.set(`${d} ${label}`, home);
      // Builds without `ralph link` print an error here, which is fine.
      cleanups.push(() => ralph(dist, home, ['link', 'stop']));
    }
  }
  // Wait until the daemon answers over the overlay.
  const deadline = nowMs() + 90_000;
  while (ralph(dists[0], homes.get('0 two reachable remotes'), ['remote', 'test', 'box']).code !== 0) {
    if (nowMs() > deadline) throw new Error(`the daemon did not answer: ${box.log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (LOOPS > 0) {
    process.stderr.write(`starting ${LOOPS} loops on the box ...\n`);
    const setup = homes.get('0 two reachable remotes');
    const agent = [process.execPath, FIXTURE, 'echo'].map((a) => JSON.stringify(a)).join(' ');
    for (let i = 0; i < LOOPS; i++) {
      const task = `idle-${i}`;
      makeTaskDir(workspace, task);
      // The box's own CLI ends them (its registry has the daemon's loops); the daemon alone would not.
      cleanups.push(() => ralph(dists[0], boxHome, ['stop', task, '--force']));
      const r = ralph(dists[0], setup, [
        'remote',
        'start-loop',
        'box',
        task,
        '--agent',
        'custom',
        '--agent-command',
        agent,
      ]);
      if (r.code !== 0) throw new Error(`start-loop ${task}: ${r.stderr}`);
    }
  }

  const runs = new Map([...homes.keys()].map((k) => [k, []]));
  const unreachable = new Map([...homes.keys()].map((k) => [k, new Set()]));
  // What status itself reports for each reachable remote: login (or a kept session), dial, greeting, list.
  const remoteMs = new Map([...homes.keys()].map((k) => [k, []]));
  for (let i = 0; i < RUNS + 1; i++) {
    for (const label of cases) {
      for (const [d, dist] of dists.entries()) {
        const key = `${d} ${label}`;
        const r = ralph(
          dist,
          homes.get(key),
          ['status', '--json', '--remote-timeout', `${TIMEOUT_MS}ms`],
          caseEnv(label),
        );
        if (r.code !== 0) throw new Error(`status exited ${r.code}: ${r.stderr}`);
        for (const rem of JSON.parse(r.stdout).remotes) {
          if (!rem.reachable) unreachable.get(key).add(rem.name);
          else if (i > 0) remoteMs.get(key).push(rem.ms);
        }
        if (i > 0) runs.get(key).push(r.ms); // the first pass is untimed (caches, first logins, links)
      }
    }
    // The links the first pass started in the background answer before the timed passes (bounded).
    if (i === 0) {
      for (const [key, home] of homes) {
        const [d, ...rest] = key.split(' ');
        const label = rest.join(' ');
        if (label === 'local only' || label === NO_LINK) continue;
        const until = nowMs() + 15_000;
        while (nowMs() < until) {
          const s = ralph(dists[Number(d)], home, ['link', 'status', '--json']);
          if (s.code !== 0 || JSON.parse(s.stdout).running) break;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
  }
  process.stdout.write(
    `\nralph status --json: ${RUNS} timed runs per row after 1 untimed, round-robin; --remote-timeout ${TIMEOUT_MS} ms\n`,
  );
  const rows = [];
  for (const [d, dist] of dists.entries()) {
    const stat = (label) => summarize(runs.get(`${d} ${label}`));
    const local = stat('local only');
    for (const label of cases) {
      const s = stat(label);
      const down = [...unreachable.get(`${d} ${label}`)].join(',') || '-';
      const asked = remoteMs.get(`${d} ${label}`);
      rows.push([
        dist.replace(`${ROOT}`, ''),
        label,
        ms(s.p50, 0),
        ms(s.max, 0),
        ms(s.p50 - local.p50, 0),
        asked.length === 0 ? '-' : ms(summarize(asked).p50, 0),
        down,
      ]);
    }
  }
  process.stdout.write(
    `${table(['build', 'remotes', 'median', 'max', 'median - local', 'one reachable remote', 'unreachable'], rows)}\n`,
  );
  for (const [d, dist] of dists.entries()) {
    const local = summarize(runs.get(`${d} local only`)).p50;
    const reach = summarize(runs.get(`${d} two reachable remotes`)).p50;
    const direct = summarize(runs.get(`${d} ${NO_LINK}`)).p50;
    const three = summarize(runs.get(`${d} three remotes, one unreachable`));
    process.stdout.write(
      `${dist.replace(`${ROOT}`, '')}: ${reach <= local + 50 ? 'PASS' : 'MISS'} reachable ${ms(reach, 0)} <= local ${ms(local, 0)} + 50 ms ` +
        `(without the link ${ms(direct, 0)}); ` +
        `${three.max <= local + TIMEOUT_MS ? 'PASS' : 'MISS'} one unreachable max ${ms(three.max, 0)} <= local + ${TIMEOUT_MS} ms\n`,
    );
  }
  // One remote, step by step, in a fresh process per build.
  for (const dist of dists) {
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'bench', 'lib', 'status-steps.mjs'), dist, net.identities.client.file, service],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (r.status !== 0) {
      process.stdout.write(`steps (${dist}): failed: ${r.stderr}\n`);
      continue;
    }
    process.stdout.write(`\none remote, step by step (${dist.replace(`${ROOT}`, '')}), ms:\n`);
    process.stdout.write(
      `${table(
        ['step', 'ms'],
        JSON.parse(r.stdout).map(([k, v]) => [k, String(v)]),
      )}\n`,
    );
  }
}

await runMain(main, async () => {
  for (const c of cleanups.reverse()) await c();
});
