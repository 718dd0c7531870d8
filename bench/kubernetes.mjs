#!/usr/bin/env node
/**
 * The Kubernetes executor beside the process executor, on the test cluster (scripts/k8s-testcluster.mjs): a
 * real control plane on loopback with kwok fake nodes and, run as root with scripts/install-k8s-node.sh done, a
 * real node (kubelet, containerd, runc).
 *
 * (a) Time from `start_loop` to the agent's first byte, through the daemon's socket: a daemon with the process
 *     executor (a detached runner on this machine: the baseline) and one with the Kubernetes executor (a Job,
 *     a real pod from the runner image, the loop's files sent in through the API server), rounds alternated.
 *     The first byte is seen with `peek {task}` forwarded by the daemon, polled every 20 ms.
 * (b) The Kubernetes daemon's memory with N loops (default 200) run by kwok nodes, beside the same daemon
 *     with none and a bare Node process (`node -e 'setInterval(() => {}, 1000)'`).
 *
 *   node bench/kubernetes.mjs [--rounds 5] [--loops 200]
 *
 * Exits 0 with the figures (no target is set for these), 1 on an error; without the Kubernetes binaries it
 * says so and exits 1; without the real node it skips (a) with a notice.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DIST,
  ROOT,
  machineLine,
  makeTaskDir,
  ms,
  nowMs,
  numberOption,
  removeDir,
  requireBuild,
  runMain,
  summarize,
  table,
  tempDir,
  warnIfStale,
  writeSummary,
} from './lib/common.mjs';
import {
  FAKE_NODE_LABEL,
  INSTALL_HINT,
  NODE_INSTALL_HINT,
  REAL_NODE_LABEL,
  REAL_NODE_TAINT,
  findK8sBinaries,
  findNodeTools,
  startTestCluster,
} from '../scripts/k8s-testcluster-lib.mjs';

const ROUNDS = numberOption('rounds', 5, { min: 1, max: 50 });
const LOOPS = numberOption('loops', 200, { min: 1, max: 500 });
const CLI = join(DIST, 'cli', 'main.js');
const NAMESPACE = 'loops';
const RALPH_ID = 65532;
const AGENT_DIR = '/opt/fake-agent';
const MB = 1024 * 1024;

const cleanups = [];

/** A minimal NDJSON JSON-RPC client of a daemon's local socket. */
async function daemonClient(socket) {
  const stream = connect(socket);
  await new Promise((resolve, reject) => {
    stream.once('connect', resolve);
    stream.once('error', reject);
  });
  const pending = new Map();
  let next = 0;
  let buffer = '';
  stream.on('data', (chunk) => {
    buffer += chunk.toString('utf8');
    for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      const msg = JSON.parse(line);
      if (typeof msg.id === 'number') {
        pending.get(msg.id)?.(msg);
        pending.delete(msg.id);
      }
    }
  });
  const call = (method, params) =>
    new Promise((resolve) => {
      next += 1;
      pending.set(next, resolve);
      stream.write(`${JSON.stringify({ jsonrpc: '2.0', id: next, method, params })}\n`);
    });
  const ok = async (method, params) => {
    const answer = await call(method, params);
    if (answer.error) throw new Error(`${method}: ${answer.error.message}`);
    return answer.result;
  };
  return { call, ok, close: () => stream.destroy() };
}

/** Starts `ralph daemon --no-ziti` with `config` in its own RALPH_HOME; resolves once it listens. */
async function startDaemon(name, config) {
  const home = tempDir(`ralph-bench-k8s-${name}-`);
  cleanups.push(() => removeDir(home));
  const workspace = join(home, 'work');
  mkdirSync(workspace, { recursive: true });
  const socket = join(home, 'daemon.sock');
  const configFile = join(home, 'daemon.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      identity: join(home, 'unused.json'),
      service: name,
      workspace,
      maxLoops: 1000,
      socket,
      ...config,
    }),
  );
  const child = spawn(process.execPath, [CLI, 'daemon', '--config', configFile, '--no-ziti'], {
    env: { ...process.env, RALPH_HOME: join(home, 'home') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (c) => (log += c.toString()));
  cleanups.push(() => child.kill('SIGTERM'));
  const until = Date.now() + 60_000;
  while (!log.includes('daemon listening')) {
    if (child.exitCode !== null) throw new Error(`daemon ${name} exited ${child.exitCode}:\n${log}`);
    if (Date.now() > until) throw new Error(`daemon ${name} did not listen within 60 s:\n${log}`);
    await sleep(50);
  }
  return { child, workspace, socket, log: () => log };
}

function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN) * 1024;
}

/** A task whose agent prints a marker at once and then waits (for the first-byte rounds). */
function firstByteTask(workspace, name, scriptPathInLoop) {
  const dir = makeTaskDir(workspace, name);
  writeFileSync(
    join(dir, 'script.json'),
    JSON.stringify([{ print: 'FIRST-BYTE' }, { echo: { until: 'quit\r', timeoutMs: 600_000 } }]),
  );
  return scriptPathInLoop(dir);
}

/** ms from sending start_loop to the marker in the loop's screen, seen through the daemon. */
async function timeToFirstByte(client, task, agentCommand) {
  const t0 = nowMs();
  await client.ok('start_loop', { task_dir: task, agent: 'custom', agent_command: agentCommand });
  const until = Date.now() + 180_000;
  for (;;) {
    const answer = await client.call('peek', { task });
    if (answer.result?.lines?.some((line) => line.includes('FIRST-BYTE'))) return nowMs() - t0;
    if (Date.now() > until) throw new Error(`no first byte from ${task} within 180 s`);
    await sleep(20);
  }
}

async function firstByte(cluster, work) {
  const agentDir = join(work, 'agent');
  mkdirSync(agentDir);
  copyFileSync(join(ROOT, 'test', 'fixtures', 'fake-agent.mjs'), join(agentDir, 'fake-agent.mjs'));
  const imageFile = join(work, 'runner.oci.tar');
  process.stdout.write('building the runner image ...\n');
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'scripts', 'build-runner-image.mjs'),
      '--out',
      imageFile,
      '--tag',
      'ralph-runner:bench',
      '--extra',
      `${agentDir}:${AGENT_DIR}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const image = await cluster.importImage(imageFile);
  for (let i = 1; i <= ROUNDS; i += 1) {
    const volume = join(work, `volume-${i}`);
    mkdirSync(volume, { mode: 0o700 });
    chownSync(volume, RALPH_ID, RALPH_ID);
    await cluster.api('POST', '/api/v1/persistentvolumes', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `bench-real-${i}` },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'bench-real',
        persistentVolumeReclaimPolicy: 'Retain',
        hostPath: { path: volume, type: 'Directory' },
      },
    });
  }
  const proc = await startDaemon('bench-proc', {});
  const k8s = await startDaemon('bench-pod', {
    executor: {
      kind: 'kubernetes',
      namespace: NAMESPACE,
      image,
      imagePullPolicy: 'Never',
      kubeconfig: cluster.kubeconfig,
      resources: { limits: { memory: '1Gi' } },
      storageClass: 'bench-real',
      storageSize: '1Gi',
      nodeSelector: { [REAL_NODE_LABEL]: 'true' },
      tolerations: [{ ...REAL_NODE_TAINT, operator: 'Equal' }],
      hostNetwork: true,
      runAsUser: RALPH_ID,
    },
  });
  const procClient = await daemonClient(proc.socket);
  const k8sClient = await daemonClient(k8s.socket);
  cleanups.push(
    () => procClient.close(),
    () => k8sClient.close(),
  );
  const fakeAgent = join(ROOT, 'test', 'fixtures', 'fake-agent.mjs');
  const samples = { process: [], kubernetes: [] };
  for (let i = 1; i <= ROUNDS; i += 1) {
    const name = `first-${i}`;
    const procScript = firstByteTask(proc.workspace, name, (dir) => join(dir, 'script.json'));
    samples.process.push(await timeToFirstByte(procClient, name, `node ${fakeAgent} --script ${procScript}`));
    await procClient.ok('stop_loop', { task: name, force: true });
    firstByteTask(k8s.workspace, name, () => '');
    samples.kubernetes.push(
      await timeToFirstByte(
        k8sClient,
        name,
        `node ${AGENT_DIR}/fake-agent.mjs --script /var/lib/ralph/task/script.json`,
      ),
    );
    await k8sClient.ok('stop_loop', { task: name, force: true });
    process.stdout.write(
      `round ${i}/${ROUNDS}: process ${ms(samples.process.at(-1), 0)}, kubernetes ${ms(samples.kubernetes.at(-1), 0)}\n`,
    );
  }
  return { process: summarize(samples.process), kubernetes: summarize(samples.kubernetes) };
}

async function fleetMemory(cluster) {
  for (let i = 1; i <= LOOPS; i += 1) {
    await cluster.api('POST', '/api/v1/persistentvolumes', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `bench-kwok-${i}` },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'bench-kwok',
        persistentVolumeReclaimPolicy: 'Delete',
        hostPath: { path: `/nonexistent/ralph-bench/${i}` },
      },
    });
  }
  const floor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  cleanups.push(() => floor.kill('SIGTERM'));
  const daemon = await startDaemon('bench-fleet', {
    executor: {
      kind: 'kubernetes',
      namespace: NAMESPACE,
      image: 'ralph-runner:kwok',
      imagePullPolicy: 'Never',
      kubeconfig: cluster.kubeconfig,
      resources: { limits: { memory: '512Mi' } },
      storageClass: 'bench-kwok',
      storageSize: '1Gi',
      nodeSelector: { [FAKE_NODE_LABEL]: 'true' },
    },
  });
  await sleep(3000);
  const idle = rssOf(daemon.child.pid);
  const client = await daemonClient(daemon.socket);
  cleanups.push(() => client.close());
  const t0 = nowMs();
  for (let i = 1; i <= LOOPS; i += 1) {
    makeTaskDir(daemon.workspace, `fleet-${i}`);
    await client.ok('start_loop', {
      task_dir: `fleet-${i}`,
      agent: 'custom',
      agent_command: 'node agent.mjs',
    });
    if (i % 25 === 0 || i === LOOPS) process.stdout.write(`started ${i}/${LOOPS} loops\n`);
  }
  const startedMs = nowMs() - t0;
  const until = Date.now() + 300_000;
  for (;;) {
    const { loops } = await client.ok('list_loops');
    const running = loops.filter((l) => l.status === 'running').length;
    if (running === LOOPS) break;
    if (Date.now() > until) throw new Error(`only ${running}/${LOOPS} loops running after 300 s`);
    await sleep(1000);
  }
  const allRunningMs = nowMs() - t0;
  await sleep(5000);
  const rss = [];
  for (let i = 0; i < 5; i += 1) {
    rss.push(rssOf(daemon.child.pid));
    await sleep(1000);
  }
  // kwok pods run no containers, so each loop's delivery of its files fails and, after its last try, ends:
  // the steady state is after that.
  const settleUntil = Date.now() + 180_000;
  const gaveUp = () =>
    daemon
      .log()
      .split('\n')
      .filter((l) => l.includes('cannot deliver loop files')).length;
  while (gaveUp() < LOOPS && Date.now() < settleUntil) await sleep(1000);
  const settledAfterMs = nowMs() - t0;
  await sleep(3000);
  const steady = [];
  for (let i = 0; i < 5; i += 1) {
    steady.push(rssOf(daemon.child.pid));
    await sleep(1000);
  }
  const listMs = [];
  for (let i = 0; i < 5; i += 1) {
    const t = nowMs();
    await client.ok('list_loops');
    listMs.push(nowMs() - t);
  }
  return {
    loops: LOOPS,
    idleRss: idle,
    loadedRss: summarize(rss).p50,
    steadyRss: summarize(steady).p50,
    settledAfterMs,
    deliveriesEnded: gaveUp(),
    floorRss: rssOf(floor.pid),
    startedMs,
    allRunningMs,
    listLoops: summarize(listMs),
  };
}

async function main() {
  requireBuild();
  warnIfStale();
  if (findK8sBinaries() === null) throw new Error(`no Kubernetes test binaries: ${INSTALL_HINT}`);
  const nodeTools = findNodeTools();
  const realNode = nodeTools.tools !== null && process.getuid?.() === 0;
  process.stdout.write(`${machineLine()}\n`);
  const work = tempDir('ralph-bench-k8s-');
  cleanups.push(() => removeDir(work));
  process.stdout.write(`starting the test cluster${realNode ? ' with a real node' : ''} ...\n`);
  const cluster = await startTestCluster({ nodes: 2, realNode, namespace: NAMESPACE });
  cleanups.push(() => cluster.stop());

  let first = null;
  if (realNode) first = await firstByte(cluster, work);
  else {
    process.stdout.write(
      `skipped (a): no real node here (${nodeTools.reason || 'not root'}); ${NODE_INSTALL_HINT}\n`,
    );
  }
  const fleet = await fleetMemory(cluster);

  process.stdout.write('\n');
  if (first !== null) {
    process.stdout.write(
      table(
        ['start_loop -> first agent byte', 'median', 'min', 'max'],
        [
          [
            'process executor (baseline)',
            ms(first.process.p50, 0),
            ms(first.process.min, 0),
            ms(first.process.max, 0),
          ],
          [
            'kubernetes executor (real pod)',
            ms(first.kubernetes.p50, 0),
            ms(first.kubernetes.min, 0),
            ms(first.kubernetes.max, 0),
          ],
        ],
      ) + '\n',
    );
    process.stdout.write(
      `kubernetes / process: ${(first.kubernetes.p50 / first.process.p50).toFixed(1)}x (${ROUNDS} rounds)\n\n`,
    );
  }
  process.stdout.write(
    table(
      ['kubernetes daemon memory', 'RSS'],
      [
        ['bare node (floor)', `${(fleet.floorRss / MB).toFixed(1)} MB`],
        ['daemon, no loops', `${(fleet.idleRss / MB).toFixed(1)} MB`],
        [
          `daemon, ${fleet.loops} loops on kwok nodes, just started`,
          `${(fleet.loadedRss / MB).toFixed(1)} MB`,
        ],
        [
          `daemon, ${fleet.loops} loops, deliveries ended (${fleet.deliveriesEnded})`,
          `${(fleet.steadyRss / MB).toFixed(1)} MB`,
        ],
      ],
    ) + '\n',
  );
  process.stdout.write(
    `per loop (steady): ${((fleet.steadyRss - fleet.idleRss) / fleet.loops / 1024).toFixed(0)} KB; ` +
      `${fleet.loops} start_loop calls in ${ms(fleet.startedMs, 0)}, all running after ${ms(fleet.allRunningMs, 0)}; ` +
      `list_loops median ${ms(fleet.listLoops.p50, 1)}\n`,
  );
  writeSummary({ bench: 'kubernetes', rounds: ROUNDS, first, fleet });
}

await runMain(main, async () => {
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch {
      // keep cleaning
    }
  }
});
