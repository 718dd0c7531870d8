/**
 * The daemon itself in the cluster, from deploy/kubernetes/ as shipped (rbac.yaml, daemon.yaml) with the test
 * cluster's particulars set (images imported into containerd, the real node, loopback addresses): the daemon's
 * image (scripts/build-runner-image.mjs --daemon) runs `ralph daemon` with its identity from a Secret and the
 * pod's service account for the API server; a laptop's `ralph start --remote` reaches it over a real OpenZiti
 * test network, the loop runs as a Job started by the daemon in its pod, and `ralph pull` brings its commit home.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeZitiContexts } from '../../src/client/remote/daemon-client.js';
import { stripJsonComments } from '../../src/daemon/config.js';
import type { SessionRecord } from '../../src/registry/index.js';
import { loadIdentity } from '../../src/ziti/identity.js';
import { ensureCliBuilt } from '../cli/built.js';
import { useCliSandbox, waitFor } from '../cli/harness.js';
import { createDaemonService } from '../daemon/harness.js';
import { gitOk, type GitRun } from '../git/harness.js';
import {
  LAPTOP_GIT_ID,
  addHostVolume,
  buildTestImage,
  commitAgentCommand,
  laptopTaskRepo,
  realNodeExecutor,
} from '../support/k8s-pods.js';
import {
  REAL_NODE_LABEL,
  REAL_NODE_TAINT,
  k8sNodeSuite,
  startTestCluster,
  type TestCluster,
} from '../support/k8s-cluster.js';
import { uniqueName } from '../ziti/e2e/helpers.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../ziti/network.js';

const ROOT = join(import.meta.dirname, '..', '..');
const NAMESPACE = 'loops';
const COLLECTION: Record<string, string> = {
  ServiceAccount: 'serviceaccounts',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  ConfigMap: 'configmaps',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  Deployment: 'deployments',
};

const enabled = zitiTestsEnabled() && k8sNodeSuite().available;

describe.skipIf(!enabled)('the daemon deployed in the cluster from deploy/kubernetes', () => {
  const laptop = useCliSandbox();
  let work: string;
  let cluster: TestCluster;
  let net: TestNetwork;
  let git: GitRun;
  let repo: string;
  const service = uniqueName('ralph-pod');

  beforeAll(async () => {
    await ensureCliBuilt();
    work = mkdtempSync(join(tmpdir(), 'ralph-daemon-pod-'));
    cluster = await startTestCluster({ nodes: 0, realNode: true, namespace: NAMESPACE });
    const runnerImage = await buildTestImage(cluster, work, 'ralph-runner:pod-test');
    const daemonImage = await buildTestImage(cluster, work, 'ralph-daemon:pod-test', { daemon: true });
    await addHostVolume(cluster, work, 'daemon-state', 'ralph-daemon-state');
    await addHostVolume(cluster, work, 'daemon-loop', 'ralph-loop');

    net = await acquireTestNetwork();
    await createDaemonService(net, service);
    await cluster.api('POST', `/api/v1/namespaces/${NAMESPACE}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'ralph-daemon-identity' },
      data: { 'daemon.json': readFileSync(net.identities.server.file).toString('base64') },
    });

    // The manifests as shipped, with what differs on this test cluster.
    const server = new URL(cluster.server);
    const laptopName = (await loadIdentity(net.identities.client.file)).name;
    const objects = [
      ...(loadAllYaml(readFileSync(join(ROOT, 'deploy/kubernetes/rbac.yaml'), 'utf8')) as KubernetesObject[]),
      ...(loadAllYaml(
        readFileSync(join(ROOT, 'deploy/kubernetes/daemon.yaml'), 'utf8'),
      ) as KubernetesObject[]),
    ];
    expect(objects.map((o) => o.kind)).toEqual([
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'ConfigMap',
      'PersistentVolumeClaim',
      'Deployment',
    ]);
    for (const object of objects) {
      const o = object as KubernetesObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      if (o.kind === 'ConfigMap') {
        const config = JSON.parse(stripJsonComments(o.data['daemon.jsonc'] as string)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
        config.service = service;
        config.roles = { [laptopName]: 'control' };
        config.executor = {
          ...config.executor,
          ...realNodeExecutor(runnerImage, 'ralph-loop'),
          secret: null,
          ttlSecondsAfterFinished: 5,
        };
        o.data['daemon.jsonc'] = JSON.stringify(config);
      }
      if (o.kind === 'PersistentVolumeClaim') o.spec.storageClassName = 'ralph-daemon-state';
      if (o.kind === 'Deployment') {
        const pod = o.spec.template.spec;
        // No pod network here: the node's, where the API server and the OpenZiti network listen on loopback.
        pod.hostNetwork = true;
        pod.nodeSelector = { [REAL_NODE_LABEL]: 'true' };
        pod.tolerations = [{ ...REAL_NODE_TAINT, operator: 'Equal' }];
        const container = pod.containers[0] as {
          image: string;
          imagePullPolicy: string;
          env: Array<{ name: string; value: string }>;
        };
        container.image = daemonImage;
        container.imagePullPolicy = 'Never';
        container.env.push(
          { name: 'KUBERNETES_SERVICE_HOST', value: server.hostname },
          { name: 'KUBERNETES_SERVICE_PORT', value: server.port },
        );
      }
      const version = o.apiVersion!;
      const group = version.includes('/') ? `/apis/${version}` : `/api/${version}`;
      await cluster.api('POST', `${group}/namespaces/${NAMESPACE}/${COLLECTION[o.kind!]}`, o);
    }

    ({ git, repo } = await laptopTaskRepo(join(laptop().root, 'work'), laptop().home, 'ralph/pod', [
      { writeFile: { path: 'pod.txt', content: 'made by a loop the daemon pod started\n' } },
      { passAll: true },
    ]));
  }, 400_000);

  afterAll(async () => {
    await closeZitiContexts();
    if (net !== undefined) {
      await net.ziti(['edge', 'delete', 'service', service]).catch(() => undefined);
      await net.stop();
    }
    await cluster?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  /** The daemon pod's phase, container state and log tail, for a failure's message. */
  async function daemonPodReport(): Promise<string> {
    const pods = await cluster.api<{ items: Array<{ metadata: { name: string }; status: unknown }> }>(
      'GET',
      `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=app.kubernetes.io/name=ralph-daemon`,
    );
    const lines: string[] = [];
    for (const pod of pods.items) {
      lines.push(`pod ${pod.metadata.name}: ${JSON.stringify(pod.status).slice(0, 2000)}`);
      const log = await cluster
        .api<string>('GET', `/api/v1/namespaces/${NAMESPACE}/pods/${pod.metadata.name}/log?tailLines=40`)
        .catch((e: unknown) => `(no log: ${String(e)})`);
      lines.push(typeof log === 'string' ? log : JSON.stringify(log));
    }
    return lines.join('\n') || 'no daemon pod';
  }

  const ralph = (args: string[]) =>
    laptop().ralph(args, { cwd: repo, env: LAPTOP_GIT_ID, timeoutMs: 120_000 });

  it('serves a laptop over OpenZiti and runs its loop as a Job, commits brought home', async () => {
    await laptop().ralph([
      'remote',
      'add',
      'k8s',
      '--identity',
      net.identities.client.file,
      '--service',
      service,
    ]);
    // The daemon pod starts, binds the service; the laptop's test passes once it does.
    try {
      await waitFor(
        async () => (await laptop().ralph(['remote', 'test', 'k8s'], { timeoutMs: 30_000 })).exitCode === 0,
        'the daemon in its pod to answer over OpenZiti',
        180_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await daemonPodReport()}`);
    }
    const pushed = await gitOk(git, repo, ['rev-parse', 'HEAD']);
    const started = await ralph([
      'start',
      'tasks/feat',
      '--remote',
      'k8s',
      '--agent',
      'custom',
      '--agent-cmd',
      commitAgentCommand('/var/lib/ralph/repo/tasks/feat/script.json'),
      '--json',
    ]);
    expect(started.exitCode, started.stderr).toBe(0);
    expect(JSON.parse(started.stdout)).toMatchObject({ task: 'feat', remoteName: 'k8s', commit: pushed });

    let last: SessionRecord | undefined;
    await waitFor(
      async () => {
        const r = await ralph(['status', '--json', '--remote-timeout', '10s']);
        last = (JSON.parse(r.stdout) as { sessions: SessionRecord[] }).sessions.find(
          (s) => s.task === 'feat',
        );
        return (
          last !== undefined && ['completed', 'failed', 'crashed', 'lost', 'exhausted'].includes(last.status)
        );
      },
      'the loop started by the daemon pod to end',
      180_000,
    );
    expect(last?.status).toBe('completed');
    const pulled = await ralph(['pull', 'k8s:feat', '--json']);
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    expect(JSON.parse(pulled.stdout)).toMatchObject({ outcome: 'created', local_branch: 'ralph/pod' });
    expect(await gitOk(git, repo, ['show', 'ralph/pod:tasks/feat/pod.txt'])).toBe(
      'made by a loop the daemon pod started',
    );
    expect(await gitOk(git, repo, ['rev-parse', 'ralph/pod^'])).toBe(pushed);
  }, 600_000);
});
