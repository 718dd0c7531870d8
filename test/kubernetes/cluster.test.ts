/**
 * The loopback Kubernetes test cluster itself: a real control plane with two kwok fake nodes running Jobs whose
 * pods end as the `ralph.test/outcome` annotation says (succeed, oom, evict), and the TTL controller deleting a
 * finished Job. Skipped with a notice when the binaries are not built (fails instead with RALPH_REQUIRE_K8S=1).
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EVICTION_MESSAGE,
  FAKE_NODE_LABEL,
  INSTALL_HINT,
  OUTCOME_ANNOTATION,
  REQUIRE_K8S_ENV,
  k8sAvailability,
  k8sSuite,
  startTestCluster,
  waitFor,
  type Outcome,
  type TestCluster,
} from '../support/k8s-cluster.js';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface ContainerStatus {
  name: string;
  ready: boolean;
  state: { running?: object; terminated?: { exitCode: number; reason?: string } };
}

interface Pod {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { nodeName?: string };
  status: {
    phase: string;
    reason?: string;
    message?: string;
    podIP?: string;
    conditions?: Condition[];
    containerStatuses?: ContainerStatus[];
  };
}

interface Job {
  metadata: { name: string };
  status?: { conditions?: Condition[]; succeeded?: number; failed?: number };
}

interface Node {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { taints?: unknown[] };
  status: { capacity: Record<string, string>; allocatable: Record<string, string>; conditions?: Condition[] };
}

interface List<T> {
  items: T[];
}

const NS = 'ralph-k8s-smoke';

function conditionTrue(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type && c.status === 'True');
}

function jobManifest(name: string, outcome: Outcome | null, ttlSeconds?: number): object {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      ...(ttlSeconds !== undefined ? { ttlSecondsAfterFinished: ttlSeconds } : {}),
      template: {
        metadata: { annotations: outcome ? { [OUTCOME_ANNOTATION]: outcome } : {} },
        spec: {
          restartPolicy: 'Never',
          nodeSelector: { [FAKE_NODE_LABEL]: 'true' },
          containers: [{ name: 'main', image: 'registry.invalid/ralph/test:latest', command: ['true'] }],
        },
      },
    },
  };
}

describe('test cluster without binaries', () => {
  it('skips with the install command, or runs and fails with RALPH_REQUIRE_K8S=1', async () => {
    const missing = { RALPH_K8S_BIN: '/nonexistent/k8s-bin', HOME: '/nonexistent' };
    const skipped = k8sAvailability(missing);
    expect(skipped.available).toBe(false);
    expect(skipped.reason).toContain(INSTALL_HINT);
    expect(k8sAvailability({ ...missing, [REQUIRE_K8S_ENV]: '1' }).available).toBe(true);
    const saved = process.env.RALPH_K8S_BIN;
    process.env.RALPH_K8S_BIN = '/nonexistent/k8s-bin';
    try {
      await expect(startTestCluster()).rejects.toMatchObject({
        code: 'K8S_NOT_FOUND',
        message: expect.stringContaining(INSTALL_HINT),
      });
    } finally {
      if (saved === undefined) delete process.env.RALPH_K8S_BIN;
      else process.env.RALPH_K8S_BIN = saved;
    }
  });
});

describe.skipIf(!k8sSuite().available)('loopback Kubernetes cluster with kwok fake nodes', () => {
  let cluster: TestCluster;

  const getJob = (name: string) => cluster.api<Job>('GET', `/apis/batch/v1/namespaces/${NS}/jobs/${name}`);
  const podsOf = async (job: string) =>
    (await cluster.api<List<Pod>>('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=job-name%3D${job}`))
      .items;
  const createJob = (manifest: object) =>
    cluster.api('POST', `/apis/batch/v1/namespaces/${NS}/jobs`, manifest);

  /** Waits for the Job's only pod to satisfy `done`, and returns it. */
  const waitForPod = (job: string, what: string, done: (pod: Pod) => boolean) =>
    waitFor(
      async () => {
        const pods = await podsOf(job);
        return pods.length === 1 && done(pods[0]!) ? pods[0]! : null;
      },
      { timeoutMs: 45_000, what: `the pod of Job ${job} to be ${what}`, watch: cluster.processes },
    );

  const waitForJobCondition = (job: string, type: 'Complete' | 'Failed') =>
    waitFor(async () => conditionTrue((await getJob(job)).status?.conditions, type), {
      timeoutMs: 45_000,
      what: `Job ${job} to have condition ${type}`,
      watch: cluster.processes,
    });

  beforeAll(async () => {
    cluster = await startTestCluster({ nodes: 2, namespace: NS });
    console.log(`[k8s] test cluster up in ${cluster.startupMs} ms at ${cluster.server} (${cluster.dir})`);
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('has two Ready fake nodes that fit 200 pods, reachable through the kubeconfig', async () => {
    expect(cluster.kubeconfig).toMatch(/admin\.kubeconfig$/);
    expect(cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const nodes = (await kc.makeApiClient(CoreV1Api).listNode({ labelSelector: `${FAKE_NODE_LABEL}=true` }))
      .items;
    expect(nodes.map((n) => n.metadata?.name).sort()).toEqual([...cluster.nodeNames].sort());
    expect(nodes).toHaveLength(2);

    const raw = await cluster.api<List<Node>>('GET', `/api/v1/nodes?labelSelector=${FAKE_NODE_LABEL}%3Dtrue`);
    for (const node of raw.items) {
      expect(conditionTrue(node.status.conditions, 'Ready')).toBeDefined();
      expect(node.spec.taints ?? []).toEqual([]);
      expect(node.status.allocatable).toMatchObject({ cpu: '32', memory: '256Gi', pods: '300' });
    }
  });

  it('keeps a pod without an outcome Running with ready containers, and removes it when deleted', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'stays-running' },
      spec: {
        nodeSelector: { [FAKE_NODE_LABEL]: 'true' },
        containers: [{ name: 'main', image: 'registry.invalid/ralph/test:latest' }],
      },
    };
    await cluster.api('POST', `/api/v1/namespaces/${NS}/pods`, pod);
    const path = `/api/v1/namespaces/${NS}/pods/stays-running`;
    const running = await waitFor(
      async () => {
        const p = await cluster.api<Pod>('GET', path);
        return p.status.phase === 'Running' && conditionTrue(p.status.conditions, 'Ready') ? p : null;
      },
      { timeoutMs: 45_000, what: 'pod stays-running to be Running and Ready', watch: cluster.processes },
    );
    expect(cluster.nodeNames).toContain(running.spec.nodeName);
    expect(running.status.podIP).toMatch(/^10\.244\./);
    expect(running.status.containerStatuses?.[0]).toMatchObject({ name: 'main', ready: true });
    expect(running.status.containerStatuses?.[0]?.state.running).toBeDefined();

    // Longer than the default outcome delay: nothing ends it.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await cluster.api<Pod>('GET', path)).status.phase).toBe('Running');

    await cluster.api('DELETE', path);
    await waitFor(async () => (await cluster.request('GET', path)).status === 404, {
      timeoutMs: 30_000,
      what: 'the deleted pod to be removed',
      watch: cluster.processes,
    });
  });

  it('completes a Job whose pod succeeds, and the TTL controller deletes it', async () => {
    await createJob(jobManifest('job-succeed', 'succeed', 5));
    const pod = await waitForPod('job-succeed', 'Succeeded', (p) => p.status.phase === 'Succeeded');
    expect(cluster.nodeNames).toContain(pod.spec.nodeName);
    expect(pod.status.containerStatuses?.[0]?.state.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
    const complete = await waitForJobCondition('job-succeed', 'Complete');
    expect(complete.status).toBe('True');

    const finishedAt = Date.now();
    const jobPath = `/apis/batch/v1/namespaces/${NS}/jobs/job-succeed`;
    await waitFor(async () => (await cluster.request('GET', jobPath)).status === 404, {
      timeoutMs: 60_000,
      what: 'the TTL controller to delete Job job-succeed (ttlSecondsAfterFinished 5)',
      watch: cluster.processes,
    });
    expect(Date.now() - finishedAt).toBeGreaterThanOrEqual(3000);
    await waitFor(async () => (await podsOf('job-succeed')).length === 0, {
      timeoutMs: 30_000,
      what: 'the garbage collector to delete the pods of Job job-succeed',
      watch: cluster.processes,
    });
  }, 120_000);

  it('fails a Job whose container is OOMKilled', async () => {
    await createJob(jobManifest('job-oom', 'oom'));
    const pod = await waitForPod('job-oom', 'Failed', (p) => p.status.phase === 'Failed');
    expect(pod.status.containerStatuses?.[0]?.state.terminated).toMatchObject({
      exitCode: 137,
      reason: 'OOMKilled',
    });
    const failed = await waitForJobCondition('job-oom', 'Failed');
    expect(failed.reason).toBe('BackoffLimitExceeded');
    expect((await getJob('job-oom')).status?.failed).toBe(1);
  }, 120_000);

  it('fails a Job whose pod is evicted', async () => {
    await createJob(jobManifest('job-evict', 'evict'));
    const pod = await waitForPod('job-evict', 'Failed', (p) => p.status.phase === 'Failed');
    expect(pod.status.reason).toBe('Evicted');
    expect(pod.status.message).toBe(EVICTION_MESSAGE);
    expect(conditionTrue(pod.status.conditions, 'DisruptionTarget')).toMatchObject({
      reason: 'TerminationByKubelet',
    });
    await waitForJobCondition('job-evict', 'Failed');
  }, 120_000);
  it('deletes a Job with a running pod, the pod removed by the fake node', async () => {
    await createJob(jobManifest('job-running', null));
    await waitForPod('job-running', 'Running', (p) => p.status.phase === 'Running');
    await cluster.api('DELETE', `/apis/batch/v1/namespaces/${NS}/jobs/job-running`, {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      propagationPolicy: 'Foreground',
    });
    const jobPath = `/apis/batch/v1/namespaces/${NS}/jobs/job-running`;
    await waitFor(
      async () =>
        (await cluster.request('GET', jobPath)).status === 404 && (await podsOf('job-running')).length === 0,
      { timeoutMs: 45_000, what: 'Job job-running and its pod to be gone', watch: cluster.processes },
    );
  }, 120_000);

  it('adds fake nodes on demand', async () => {
    const [name] = await cluster.addFakeNodes(1);
    expect(name).toBe('ralph-fake-node-2');
    expect(cluster.nodeNames).toHaveLength(3);
    const node = await cluster.api<Node>('GET', `/api/v1/nodes/${name}`);
    expect(node.metadata.labels?.[FAKE_NODE_LABEL]).toBe('true');
    expect(conditionTrue(node.status.conditions, 'Ready')).toBeDefined();
  }, 120_000);
});
