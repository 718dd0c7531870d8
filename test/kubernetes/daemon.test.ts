/**
 * `ralph daemon` with the Kubernetes executor, on a real control plane with kwok nodes: loops started through
 * the daemon's socket become labelled Jobs; the daemon killed with SIGKILL and started again re-adopts every one
 * of them (statuses right, none duplicated, none orphaned); a pod killed for memory and an evicted pod give
 * their loops the true status and reason, in `list_loops` and in the event journal.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt } from '../cli/built.js';
import { CliSandbox } from '../cli/harness.js';
import {
  LineClient,
  startDaemonProcess,
  writeDaemonConfig,
  type DaemonProcess,
  type DaemonSetup,
} from '../daemon/harness.js';
import { KubernetesLoops, loadKubeConfig } from '../../src/daemon/kubernetes/jobs.js';
import { prdJson } from '../support/prd.js';
import {
  FAKE_NODE_LABEL,
  OUTCOME_ANNOTATION,
  k8sSuite,
  startTestCluster,
  waitFor,
  type TestCluster,
} from '../support/k8s-cluster.js';

const NAMESPACE = 'loops';
const STORAGE_CLASS = 'ralph-daemon-test';
const SERVICE = 'k8s1';
const LOOPS = 20;

interface Loop {
  task: string;
  loop_id: string;
  status: string;
  exit_reason: string | null;
}

interface Job {
  metadata: { name: string; labels: Record<string, string> };
}

let cluster: TestCluster;
let sandbox: CliSandbox;
let setup: DaemonSetup;
let daemon: DaemonProcess | null = null;

function taskFolder(name: string): void {
  const dir = join(setup.workspace, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'prd.json'), JSON.stringify(prdJson(1), null, 2));
  writeFileSync(join(dir, 'prompt.md'), '# Prompt\n');
}

async function listLoops(client: LineClient): Promise<Loop[]> {
  return (await client.ok<{ loops: Loop[] }>('list_loops')).loops;
}

async function jobs(): Promise<Job[]> {
  const list = await cluster.api<{ items: Job[] }>(
    'GET',
    `/apis/batch/v1/namespaces/${NAMESPACE}/jobs?labelSelector=ralph.dev/daemon=${SERVICE}`,
  );
  return list.items;
}

async function connect(): Promise<LineClient> {
  const client = await LineClient.unix(setup.socket);
  await client.hello;
  return client;
}

/** The daemon's JSON log line with `msg`, parsed. */
function logged(d: DaemonProcess, msg: string): Record<string, unknown> | undefined {
  for (const line of d.log) {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry.msg === msg) return entry;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

describe.skipIf(!k8sSuite().available)('ralph daemon with the Kubernetes executor (kwok nodes)', () => {
  beforeAll(async () => {
    await ensureCliBuilt();
    cluster = await startTestCluster({ nodes: 2, namespace: NAMESPACE });
    for (let i = 1; i <= LOOPS + 4; i += 1) {
      await cluster.api('POST', '/api/v1/persistentvolumes', {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: `daemon-pv-${i}` },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          storageClassName: STORAGE_CLASS,
          persistentVolumeReclaimPolicy: 'Delete',
          hostPath: { path: `/nonexistent/ralph-daemon-test/${i}` },
        },
      });
    }
    sandbox = new CliSandbox();
    setup = writeDaemonConfig(sandbox, {
      service: SERVICE,
      maxLoops: LOOPS + 4,
      executor: {
        kind: 'kubernetes',
        namespace: NAMESPACE,
        image: 'ralph-runner:test',
        imagePullPolicy: 'Never',
        kubeconfig: cluster.kubeconfig,
        resources: { limits: { memory: '512Mi' } },
        storageClass: STORAGE_CLASS,
        storageSize: '1Gi',
        nodeSelector: { [FAKE_NODE_LABEL]: 'true' },
      },
    });
    for (let i = 1; i <= LOOPS + 2; i += 1) taskFolder(`loop-${i}`);
  }, 240_000);
  afterAll(async () => {
    await daemon?.stop('SIGTERM').catch(() => undefined);
    await sandbox?.dispose();
    await cluster?.stop();
  }, 120_000);

  it(`re-adopts ${LOOPS} running loops after a SIGKILL: none duplicated, none orphaned`, async () => {
    daemon = await startDaemonProcess(sandbox, setup);
    const client = await connect();
    try {
      for (let i = 1; i <= LOOPS; i += 1) {
        const started = await client.ok<{ task: string; status: string }>('start_loop', {
          task_dir: `loop-${i}`,
          agent: 'custom',
          agent_command: 'node /opt/agent.mjs',
        });
        expect(started).toMatchObject({ task: `loop-${i}`, status: 'starting' });
      }
      // A second start of a live task is refused, and nothing is created for it.
      const again = await client.call('start_loop', { task_dir: 'loop-1', agent: 'custom' });
      expect(again.error?.message).toMatch(/loop loop-1 is already/);
      await waitFor(
        async () => {
          const loops = await listLoops(client);
          return loops.length === LOOPS && loops.every((l) => l.status === 'running');
        },
        { timeoutMs: 90_000, what: `all ${LOOPS} loops running` },
      );
    } finally {
      client.close();
    }
    const before = (await jobs()).map((j) => j.metadata.name).sort();
    expect(before).toHaveLength(LOOPS);

    await daemon.stop('SIGKILL');
    daemon = await startDaemonProcess(sandbox, setup);
    const adopted = logged(daemon, 'adopted loops');
    expect(adopted).toMatchObject({ lost: [], ended: [], orphans: [] });
    expect((adopted!.alive as string[]).sort()).toEqual(
      Array.from({ length: LOOPS }, (_, i) => `loop-${i + 1}`).sort(),
    );

    const again = await connect();
    try {
      const loops = await listLoops(again);
      expect(loops).toHaveLength(LOOPS);
      expect(new Set(loops.map((l) => l.loop_id)).size).toBe(LOOPS);
      expect(loops.every((l) => l.status === 'running')).toBe(true);
      const health = await again.ok<{ active_loops: number }>('get_health');
      expect(health.active_loops).toBe(LOOPS);
    } finally {
      again.close();
    }
    expect((await jobs()).map((j) => j.metadata.name).sort()).toEqual(before);
  }, 300_000);

  it('gives an OOMKilled and an evicted loop their true status and reason', async () => {
    if (daemon === null) daemon = await startDaemonProcess(sandbox, setup);
    const client = await connect();
    try {
      const ids: Record<string, string> = {};
      for (const task of [`loop-${LOOPS + 1}`, `loop-${LOOPS + 2}`]) {
        const started = await client.ok<{ loop_id: string }>('start_loop', {
          task_dir: task,
          agent: 'custom',
          agent_command: 'node /opt/agent.mjs',
        });
        ids[task] = started.loop_id;
      }
      const [oom, evicted] = [`loop-${LOOPS + 1}`, `loop-${LOOPS + 2}`];
      await waitFor(
        async () => {
          const loops = await listLoops(client);
          return [oom, evicted].every((t) => loops.find((l) => l.task === t)?.status === 'running');
        },
        { timeoutMs: 60_000, what: 'both loops running' },
      );
      for (const [task, outcome] of [
        [oom, 'oom'],
        [evicted, 'evict'],
      ] as const) {
        const pods = await cluster.api<{ items: Array<{ metadata: { name: string } }> }>(
          'GET',
          `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=ralph.dev/loop=${ids[task]}`,
        );
        await cluster.api(
          'PATCH',
          `/api/v1/namespaces/${NAMESPACE}/pods/${pods.items[0]!.metadata.name}`,
          { metadata: { annotations: { [OUTCOME_ANNOTATION]: outcome } } },
          { contentType: 'application/merge-patch+json' },
        );
      }
      const ended = await waitFor(
        async () => {
          const loops = await listLoops(client);
          const pair = [oom, evicted].map((t) => loops.find((l) => l.task === t)!);
          return pair.every((l) => l.status === 'crashed') ? pair : null;
        },
        { timeoutMs: 60_000, what: 'both loops crashed' },
      );
      expect(ended[0]!.exit_reason).toBe('OOMKilled: the runner ran out of memory (limit 512Mi)');
      expect(ended[1]!.exit_reason).toMatch(/^evicted: /);

      // The journal says so too, for a client that was away.
      await client.ok('subscribe_events', { since_seq: 0 });
      const failed = await waitFor(
        () => {
          const events = client.notifications
            .filter((n) => n.method === 'loop_event')
            .map((n) => n.params as { type: string; task: string; data: { exit_reason?: string } });
          const mine = events.filter((e) => e.type === 'loop_failed' && [oom, evicted].includes(e.task));
          return Promise.resolve(mine.length === 2 ? mine : null);
        },
        { timeoutMs: 15_000, what: 'loop_failed for both in the journal' },
      );
      expect(failed.find((e) => e.task === oom)!.data.exit_reason).toMatch(/^OOMKilled/);
      expect(failed.find((e) => e.task === evicted)!.data.exit_reason).toMatch(/^evicted/);
    } finally {
      client.close();
    }
  }, 180_000);

  it('reports a labelled Job it does not know, and deletes it only with ralph daemon orphans --clean', async () => {
    const stranger = new KubernetesLoops(
      loadKubeConfig(cluster.kubeconfig),
      {
        kind: 'kubernetes',
        namespace: NAMESPACE,
        image: 'ralph-runner:test',
        imagePullPolicy: 'Never',
        kubeconfig: null,
        resources: {},
        storageClass: STORAGE_CLASS,
        storageSize: '1Gi',
        secret: null,
        ttlSecondsAfterFinished: 3600,
        nodeSelector: { [FAKE_NODE_LABEL]: 'true' },
        tolerations: [],
        hostNetwork: false,
        runAsUser: 65532,
        deadlineGraceSeconds: 60,
        nodePath: '/usr/local/bin/node',
        maxTaskBytes: 1024,
        awaitFilesMs: null,
      },
      SERVICE,
    );
    const orphan = await stranger.start({
      daemon: SERVICE,
      loopId: 9001,
      task: 'from-elsewhere',
      launch: '{}',
    });

    // A restarted daemon reports it and leaves it alone.
    await daemon?.stop('SIGTERM');
    daemon = await startDaemonProcess(sandbox, setup);
    expect(logged(daemon, 'adopted loops')?.orphans).toEqual([
      `${orphan.name} (task from-elsewhere, loop 9001)`,
    ]);

    const listed = await sandbox.ralph(['daemon', 'orphans', '--config', setup.configFile, '--json']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual({
      namespace: NAMESPACE,
      orphans: [
        expect.objectContaining({ job: orphan.name, task: 'from-elsewhere', loop_id: 9001, deleted: false }),
      ],
    });
    expect((await jobs()).map((j) => j.metadata.name)).toContain(orphan.name);

    const cleaned = await sandbox.ralph(['daemon', 'orphans', '--config', setup.configFile, '--clean']);
    expect(cleaned.exitCode, cleaned.stderr).toBe(0);
    expect(cleaned.stdout).toContain(orphan.name);
    await waitFor(async () => !(await jobs()).some((j) => j.metadata.name === orphan.name), {
      timeoutMs: 60_000,
      what: 'the orphan Job to be deleted',
    });
    // The daemon's own loops are untouched.
    expect((await jobs()).length).toBe(LOOPS + 2);
    const none = await sandbox.ralph(['daemon', 'orphans', '--config', setup.configFile]);
    expect(none.stdout).toContain('no orphaned Jobs of daemon k8s1');

    // A process daemon has no Jobs: a clear refusal.
    const plain = join(sandbox.root, 'plain.jsonc');
    writeFileSync(
      plain,
      JSON.stringify({ identity: 'none.json', service: 'plain', workspace: setup.workspace }),
    );
    const refused = await sandbox.ralph(['daemon', 'orphans', '--config', plain]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/only the kubernetes executor has Jobs/);
  }, 180_000);
});
