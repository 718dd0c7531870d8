/**
 * The Kubernetes executor's Jobs on a real control plane (etcd, kube-apiserver, controller-manager, scheduler
 * on loopback) with kwok fake nodes: starts, statuses from what the cluster reports (a pod's end is set by
 * the test through an annotation kwok acts on, as a kubelet or the OOM killer would), deadlines, stops,
 * re-adoption by a second instance (a restarted daemon), orphans, and 200 loops at once.
 */
import { readFileSync } from 'node:fs';
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  loadAllYaml,
  type KubernetesObject,
  type V1ConfigMap,
  type V1PersistentVolumeClaim,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecError, dialPodSocket, execStream } from '../../src/daemon/kubernetes/exec-stream.js';
import { KubernetesLoops, loadKubeConfig, type ClusterLoop } from '../../src/daemon/kubernetes/jobs.js';
import { DEADLINE_GRACE_SECONDS, type KubernetesExecutorConfig } from '../../src/daemon/kubernetes/spec.js';
import {
  EVICTION_MESSAGE,
  FAKE_NODE_LABEL,
  MESSAGE_ANNOTATION,
  OUTCOME_ANNOTATION,
  k8sSuite,
  startTestCluster,
  waitFor,
  type TestCluster,
} from '../support/k8s-cluster.js';

const NAMESPACE = 'loops';
const STORAGE_CLASS = 'ralph-test';

const config: KubernetesExecutorConfig = {
  kind: 'kubernetes',
  namespace: NAMESPACE,
  image: 'ralph-runner:test',
  imagePullPolicy: 'Never',
  kubeconfig: null,
  resources: { limits: { memory: '512Mi' } },
  storageClass: STORAGE_CLASS,
  storageSize: '1Gi',
  secret: null,
  ttlSecondsAfterFinished: 3600,
  nodeSelector: { [FAKE_NODE_LABEL]: 'true' },
  runAsUser: 65532,
  tolerations: [],
  hostNetwork: false,
  deadlineGraceSeconds: DEADLINE_GRACE_SECONDS,
  nodePath: '/usr/local/bin/node',
  maxTaskBytes: 64 * 1024 * 1024,
  awaitFilesMs: null,
};

let cluster: TestCluster;
let loops: KubernetesLoops;
let nextId = 1;
let volumes = 0;

/** Volumes for the loops' claims: kwok nodes mount nothing, but the scheduler waits for bound claims. */
async function addVolumes(count: number): Promise<void> {
  for (let n = 0; n < count; n += 1) {
    volumes += 1;
    const i = volumes;
    await cluster.api('POST', '/api/v1/persistentvolumes', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `pv-${i}` },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: STORAGE_CLASS,
        persistentVolumeReclaimPolicy: 'Delete',
        hostPath: { path: `/nonexistent/ralph-test/${i}` },
      },
    });
  }
}

function start(task: string, extra: { maxDurationMs?: number } = {}, on = loops): Promise<ClusterLoop> {
  const loopId = nextId;
  nextId += 1;
  return on.start({ daemon: 'box1', loopId, task, launch: JSON.stringify({ sessionId: loopId }), ...extra });
}

async function podOf(loopId: number): Promise<V1Pod> {
  return waitFor(
    async () => {
      const list = await cluster.api<{ items: V1Pod[] }>(
        'GET',
        `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=ralph.dev/loop=${loopId}`,
      );
      return list.items[0];
    },
    { timeoutMs: 30_000, what: `the pod of loop ${loopId}` },
  );
}

/** Sets a pod's end the way kwok's test stages read it. */
async function endPod(loopId: number, outcome: string, message?: string): Promise<void> {
  const pod = await podOf(loopId);
  const annotations: Record<string, string> = { [OUTCOME_ANNOTATION]: outcome };
  if (message !== undefined) annotations[MESSAGE_ANNOTATION] = message;
  await cluster.api(
    'PATCH',
    `/api/v1/namespaces/${NAMESPACE}/pods/${pod.metadata!.name!}`,
    { metadata: { annotations } },
    { contentType: 'application/merge-patch+json' },
  );
}

async function stateOf(
  loopId: number,
  want: (l: ClusterLoop) => boolean,
  what: string,
): Promise<ClusterLoop> {
  return waitFor(
    async () => {
      const loop = await loops.get(loopId);
      return loop !== undefined && want(loop) ? loop : null;
    },
    { timeoutMs: 60_000, what },
  );
}

describe.skipIf(!k8sSuite().available)('Kubernetes loops on a real control plane with kwok nodes', () => {
  beforeAll(async () => {
    cluster = await startTestCluster({ nodes: 2, namespace: NAMESPACE });
    await addVolumes(40);
    loops = new KubernetesLoops(loadKubeConfig(cluster.kubeconfig), config, 'box1');
  }, 240_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('starts a loop as a Job whose launch file and claim it owns, and reports it running', async () => {
    const started = await start('auth-flow');
    expect(started).toMatchObject({
      task: 'auth-flow',
      name: `ralph-box1-${started.loopId}`,
      deleting: false,
    });
    const running = await stateOf(started.loopId, (l) => l.state.status === 'running', 'the loop to run');
    expect(running.state).toEqual({ status: 'running', reason: null });

    const job = await cluster.api<{ metadata: { uid: string } }>(
      'GET',
      `/apis/batch/v1/namespaces/${NAMESPACE}/jobs/${started.name}`,
    );
    const map = await cluster.api<V1ConfigMap>(
      'GET',
      `/api/v1/namespaces/${NAMESPACE}/configmaps/${started.name}`,
    );
    const claim = await cluster.api<V1PersistentVolumeClaim>(
      'GET',
      `/api/v1/namespaces/${NAMESPACE}/persistentvolumeclaims/${started.name}`,
    );
    expect(JSON.parse(map.data!['launch.json']!)).toEqual({ sessionId: started.loopId });
    for (const owned of [map, claim]) {
      expect(owned.metadata?.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Job', name: started.name, uid: job.metadata.uid }),
      ]);
    }
  });

  it("takes a finished loop's end from the runner's termination message", async () => {
    const started = await start('reported');
    await stateOf(started.loopId, (l) => l.state.status === 'running', 'the loop to run');
    await endPod(
      started.loopId,
      'succeed',
      JSON.stringify({ status: 'exhausted', exitReason: 'max iterations (3) reached', iteration: 3 }),
    );
    const ended = await stateOf(started.loopId, (l) => l.state.status !== 'running', 'the loop to end');
    expect(ended.state).toEqual({ status: 'exhausted', reason: 'max iterations (3) reached' });
  });

  it('reports an OOMKilled runner and an evicted pod as crashed, with the reason', async () => {
    const oom = await start('greedy');
    const evicted = await start('evicted');
    await stateOf(oom.loopId, (l) => l.state.status === 'running', 'the first loop to run');
    await stateOf(evicted.loopId, (l) => l.state.status === 'running', 'the second loop to run');
    await endPod(oom.loopId, 'oom');
    await endPod(evicted.loopId, 'evict');
    expect((await stateOf(oom.loopId, (l) => l.state.status !== 'running', 'the OOM kill')).state).toEqual({
      status: 'crashed',
      reason: 'OOMKilled: the runner ran out of memory (limit 512Mi)',
    });
    expect(
      (await stateOf(evicted.loopId, (l) => l.state.status !== 'running', 'the eviction')).state,
    ).toEqual({
      status: 'crashed',
      reason: `evicted: ${EVICTION_MESSAGE}`,
    });
  });

  it('ends a loop past its duration budget as budget_exceeded, by the Job deadline', async () => {
    const tight = new KubernetesLoops(
      loadKubeConfig(cluster.kubeconfig),
      { ...config, deadlineGraceSeconds: 1 },
      'box1',
    );
    const started = await start('slow', { maxDurationMs: 1000 }, tight);
    const ended = await stateOf(started.loopId, (l) => l.state.status === 'budget_exceeded', 'the deadline');
    expect(ended.state.reason).toBe('the Job ran past its deadline of 2 s');
  });

  it('tells each change through its watch, and stops a loop by deleting its Job and what it owns', async () => {
    const seen: Array<[number, string | undefined]> = [];
    const stopWatch = await loops.watch((id, loop) => seen.push([id, loop?.state.status]));
    try {
      const started = await start('watched');
      await waitFor(() => Promise.resolve(seen.some(([id, s]) => id === started.loopId && s === 'running')), {
        timeoutMs: 60_000,
        what: 'the watch to tell the loop runs',
      });
      expect(await loops.stop(started.loopId, { waitMs: 60_000 })).toBe(true);
      expect(await loops.get(started.loopId)).toBeUndefined();
      await waitFor(() => Promise.resolve(seen.some(([id, s]) => id === started.loopId && s === undefined)), {
        timeoutMs: 30_000,
        what: 'the watch to tell the Job is gone',
      });
      for (const kind of ['configmaps', 'persistentvolumeclaims']) {
        await waitFor(
          async () =>
            (await cluster.request('GET', `/api/v1/namespaces/${NAMESPACE}/${kind}/${started.name}`))
              .status === 404,
          { timeoutMs: 60_000, what: `the ${kind} of the stopped loop to go` },
        );
      }
      expect(await loops.stop(started.loopId)).toBe(false);
    } finally {
      stopWatch();
    }
  });

  it('re-adopts every loop after a restart, none twice, and reports a Job it does not know', async () => {
    const batch: ClusterLoop[] = [];
    for (let i = 0; i < 20; i += 1) batch.push(await start(`batch-${i}`));
    const stranger = await start('stranger');
    const known = new Set(batch.map((l) => l.loopId));
    known.add(999_999);

    const restarted = new KubernetesLoops(loadKubeConfig(cluster.kubeconfig), config, 'box1');
    const report = await restarted.adopt(known);
    expect(report.adopted.map((l) => l.loopId).sort((a, b) => a - b)).toEqual(
      [...known].filter((id) => id !== 999_999).sort((a, b) => a - b),
    );
    expect(report.adopted.map((l) => l.task).sort()).toEqual(batch.map((l) => l.task).sort());
    expect(report.missing).toEqual([999_999]);
    const strangers = report.orphans.filter((o) => o.loopId === stranger.loopId);
    expect(strangers).toHaveLength(1);
    // Reported, not deleted: it is still there until asked.
    expect(await restarted.get(stranger.loopId)).toBeDefined();
    expect(await restarted.clean(strangers)).toEqual([stranger.name]);
    await waitFor(async () => (await restarted.get(stranger.loopId)) === undefined, {
      timeoutMs: 60_000,
      what: 'the orphan Job to go',
    });
    // Another daemon's loops in the same namespace are neither adopted nor orphans of this one.
    const other = new KubernetesLoops(loadKubeConfig(cluster.kubeconfig), config, 'box2');
    expect((await other.adopt(new Set())).orphans).toEqual([]);
  });

  it('needs no more rights than deploy/kubernetes/rbac.yaml grants, and gets no more', async () => {
    const paths: Record<string, string> = {
      ServiceAccount: `/api/v1/namespaces/${NAMESPACE}/serviceaccounts`,
      Role: `/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/roles`,
      RoleBinding: `/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/rolebindings`,
    };
    const objects = loadAllYaml(readFileSync('deploy/kubernetes/rbac.yaml', 'utf8')) as KubernetesObject[];
    expect(objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding']);
    for (const object of objects) {
      expect(object.metadata?.namespace).toBe(NAMESPACE);
      await cluster.api('POST', paths[object.kind!]!, object);
    }
    const { status } = await cluster.api<{ status: { token: string } }>(
      'POST',
      `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/ralph-daemon/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
    );
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        { name: 'test', server: cluster.server, caData: readFileSync(cluster.certs.ca).toString('base64') },
      ],
      users: [{ name: 'ralph-daemon', token: status.token }],
      contexts: [{ name: 'daemon', cluster: 'test', user: 'ralph-daemon' }],
      currentContext: 'daemon',
    });

    const daemon = new KubernetesLoops(kc, config, 'box4');
    const seen: string[] = [];
    const stopWatch = await daemon.watch((_id, loop) => seen.push(loop?.state.status ?? 'gone'));
    try {
      const started = await daemon.start({ daemon: 'box4', loopId: 1, task: 'least', launch: '{}' });
      await waitFor(async () => (await daemon.get(1))?.state.status === 'running', {
        timeoutMs: 60_000,
        what: 'the loop started with the daemon role to run',
      });
      expect((await daemon.adopt(new Set([1]))).adopted.map((l) => l.name)).toEqual([started.name]);
      expect(await daemon.stop(1, { waitMs: 60_000 })).toBe(true);
      await waitFor(() => Promise.resolve(seen.includes('gone')), { timeoutMs: 30_000, what: 'the watch' });
    } finally {
      stopWatch();
    }

    const refused = async (call: () => Promise<unknown>): Promise<number | null> => {
      try {
        await call();
        return null;
      } catch (err) {
        return err instanceof ApiException ? err.code : -1;
      }
    };
    const core = kc.makeApiClient(CoreV1Api);
    const batch = kc.makeApiClient(BatchV1Api);
    expect(await refused(() => core.listNamespacedSecret({ namespace: NAMESPACE }))).toBe(403);
    expect(await refused(() => core.listNode())).toBe(403);
    expect(await refused(() => batch.listNamespacedJob({ namespace: 'default' }))).toBe(403);
    expect(
      await refused(() =>
        batch.createNamespacedJob({
          namespace: 'default',
          body: { metadata: { name: 'elsewhere' }, spec: { template: { spec: { containers: [] } } } },
        }),
      ),
    ).toBe(403);
  });

  it("turns a failed exec into one error with the API server's words", async () => {
    const kc = loadKubeConfig(cluster.kubeconfig);
    const missing = execStream(kc, {
      namespace: NAMESPACE,
      pod: 'no-such-pod',
      container: 'runner',
      command: ['cat'],
    });
    await expect(missing).rejects.toThrow(ExecError);
    await expect(missing).rejects.toThrow(
      /exec in pod loops\/no-such-pod: HTTP 404: pods "no-such-pod" not found/,
    );
    // A fake node has no kubelet to run it: the API server says it cannot reach one.
    const started = await start('no-kubelet');
    await stateOf(started.loopId, (l) => l.state.status === 'running', 'the loop to run');
    const pod = await podOf(started.loopId);
    const unreachable = dialPodSocket(
      kc,
      { namespace: NAMESPACE, pod: pod.metadata!.name!, container: 'runner', node: '/usr/local/bin/node' },
      '/var/lib/ralph/runner.sock',
    );
    await expect(unreachable).rejects.toThrow(ExecError);

    // The API server dials the fake node's address (127.0.0.1, nothing listening) and says so, briefly.
    const error = (await unreachable.catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(new RegExp(`^exec in pod loops/${pod.metadata!.name!}: .*127\\.0\\.0\\.1`));
    expect(error.message).not.toMatch(/command=/);
  });

  it('refuses a second loop with the same id, leaving the first untouched', async () => {
    const first = await start('once');
    await expect(
      loops.start({ daemon: 'box1', loopId: first.loopId, task: 'twice', launch: '{}' }),
    ).rejects.toThrow(/cannot create Job .* HTTP 409/);
    expect((await loops.get(first.loopId))?.task).toBe('once');
  });

  it('runs 200 loops at once, and a restarted daemon finds each once', async () => {
    const COUNT = 200;
    await addVolumes(COUNT);
    const many = new KubernetesLoops(loadKubeConfig(cluster.kubeconfig), config, 'box3');
    const ids = Array.from({ length: COUNT }, (_, i) => 10_000 + i);
    // Twenty at a time: a daemon takes starts one by one, but clients may send many at once.
    for (let i = 0; i < ids.length; i += 20) {
      await Promise.all(
        ids
          .slice(i, i + 20)
          .map((loopId) => many.start({ daemon: 'box3', loopId, task: `many-${loopId}`, launch: '{}' })),
      );
    }
    const running = await waitFor(
      async () => {
        const all = await many.list();
        return all.length === COUNT && all.every((l) => l.state.status === 'running') ? all : null;
      },
      { timeoutMs: 240_000, what: `all ${COUNT} loops to run`, intervalMs: 1000 },
    );
    expect(running.map((l) => l.loopId)).toEqual(ids);
    const report = await new KubernetesLoops(loadKubeConfig(cluster.kubeconfig), config, 'box3').adopt(
      new Set(ids),
    );
    expect(report.adopted).toHaveLength(COUNT);
    expect(report.orphans).toEqual([]);
    expect(report.missing).toEqual([]);
  }, 400_000);
});
