/**
 * A loop on a real pod: the executor creates its Job on the test cluster's real node (kubelet, containerd,
 * runc), the runner image (scripts/build-runner-image.mjs, no registry) runs the loop with the fake agent, the
 * test reaches the runner's socket through the API server's exec (no route to the pod, no Service), sees the
 * agent's screen, sends keys that come back echoed, and the loop's end comes back from the pod's termination
 * message; stopping removes the Job.
 */
import {
  chownSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareLoop } from '../../src/client/start.js';
import { ralphPaths } from '../../src/config/paths.js';
import { dialPodSocket } from '../../src/daemon/kubernetes/exec-stream.js';
import { KubernetesLoops, loadKubeConfig } from '../../src/daemon/kubernetes/jobs.js';
import { DATA_MOUNT, type KubernetesExecutorConfig } from '../../src/daemon/kubernetes/spec.js';
import { RpcClient } from '../../src/protocol/index.js';
import { ensureCliBuilt } from '../cli/built.js';
import { prdJson } from '../support/prd.js';
import {
  REAL_NODE_LABEL,
  REAL_NODE_TAINT,
  k8sNodeSuite,
  startTestCluster,
  waitFor,
  type TestCluster,
} from '../support/k8s-cluster.js';

const ROOT = join(import.meta.dirname, '..', '..');
const NAMESPACE = 'loops';
const TAG = 'ralph-runner:e2e';
const AGENT_DIR = '/opt/fake-agent';
const RALPH_ID = 65532;

let work: string;
let cluster: TestCluster;
let image: string;

function chownTree(path: string, id: number): void {
  chownSync(path, id, id);
  if (lstatSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), id);
}

describe.skipIf(!k8sNodeSuite().available)('a loop in a real pod, reached through the API server', () => {
  beforeAll(async () => {
    await ensureCliBuilt();
    work = mkdtempSync(join(tmpdir(), 'ralph-real-loop-'));
    const agentDir = join(work, 'agent');
    mkdirSync(agentDir);
    copyFileSync(join(ROOT, 'test', 'fixtures', 'fake-agent.mjs'), join(agentDir, 'fake-agent.mjs'));
    const imageFile = join(work, 'runner.oci.tar');
    const built = await execa(
      process.execPath,
      [
        'scripts/build-runner-image.mjs',
        '--out',
        imageFile,
        '--tag',
        TAG,
        '--extra',
        `${agentDir}:${AGENT_DIR}`,
      ],
      { cwd: ROOT, all: true, reject: false },
    );
    if (built.exitCode !== 0) throw new Error(`build-runner-image failed:\n${built.all}`);
    cluster = await startTestCluster({ nodes: 0, realNode: true, namespace: NAMESPACE });
    image = await cluster.importImage(imageFile);
  }, 240_000);
  afterAll(async () => {
    await cluster?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('runs to its end with keys sent through exec, and stops by its Job', async () => {
    // The loop's data volume: a host folder the claim binds to, prepared as the daemon would see it.
    const dataDir = join(work, 'data');
    const taskDir = join(dataDir, 'task');
    mkdirSync(taskDir, { recursive: true });
    writeFileSync(join(taskDir, 'prd.json'), JSON.stringify(prdJson(1), null, 2));
    writeFileSync(join(taskDir, 'prompt.md'), '# Prompt\n\nMake the story pass.\n');
    const script = [
      { print: 'hello from a pod' },
      { echo: { until: 'go\r', timeoutMs: 60_000 } },
      { passStory: 'current' },
    ];
    writeFileSync(join(taskDir, 'script.json'), JSON.stringify(script));
    const prepared = await prepareLoop(
      {
        taskDir,
        agent: 'custom',
        agentCommand: `node ${AGENT_DIR}/fake-agent.mjs --script ${DATA_MOUNT}/task/script.json`,
        maxIterations: 3,
        idleTimeoutMs: 0,
      },
      ralphPaths({ RALPH_HOME: join(dataDir, 'home') }),
    );
    const inPod = (path: string): string => path.replaceAll(`${dataDir}/`, `${DATA_MOUNT}/`);
    const launch = inPod(JSON.stringify(prepared.launch));
    expect(launch).not.toContain(work);
    // The files are in place already: the marker the daemon writes after sending them lets the runner go.
    // Nothing is taken home at its end either: the marker the daemon writes after that lets it exit at once.
    writeFileSync(join(dataDir, '.delivered'), 'in place');
    writeFileSync(join(dataDir, '.collected'), 'nothing to take');
    chownTree(dataDir, RALPH_ID);
    await cluster.api('POST', '/api/v1/persistentvolumes', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'real-loop-data' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'ralph-real',
        persistentVolumeReclaimPolicy: 'Retain',
        hostPath: { path: dataDir, type: 'Directory' },
      },
    });

    const config: KubernetesExecutorConfig = {
      kind: 'kubernetes',
      namespace: NAMESPACE,
      image,
      imagePullPolicy: 'Never',
      kubeconfig: null,
      resources: { limits: { memory: '1Gi' } },
      storageClass: 'ralph-real',
      storageSize: '1Gi',
      secret: null,
      ttlSecondsAfterFinished: 3600,
      nodeSelector: { [REAL_NODE_LABEL]: 'true' },
      tolerations: [{ ...REAL_NODE_TAINT, operator: 'Equal' }],
      hostNetwork: true,
      runAsUser: RALPH_ID,
      deadlineGraceSeconds: 60,
      nodePath: '/usr/local/bin/node',
      maxTaskBytes: 64 * 1024 * 1024,
      awaitFilesMs: null,
    };
    const kc = loadKubeConfig(cluster.kubeconfig);
    const loops = new KubernetesLoops(kc, config, 'e2e');
    const loopId = prepared.session.id;
    const started = await loops.start({ daemon: 'e2e', loopId, task: prepared.session.task, launch });
    const running = await waitFor(
      async () => {
        const loop = await loops.get(loopId);
        return loop?.state.status === 'running' ? loop : null;
      },
      { timeoutMs: 90_000, what: 'the loop in its pod to run' },
    );
    expect(running.name).toBe(started.name);
    const pods = await cluster.api<{ items: Array<{ metadata: { name: string } }> }>(
      'GET',
      `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=ralph.dev/loop=${loopId}`,
    );
    const pod = pods.items[0]!.metadata.name;

    // The runner's socket, through exec: the pod's own node runs the bridge.
    const where = { namespace: NAMESPACE, pod, container: 'runner', node: '/usr/local/bin/node' };
    const stream = await waitFor(
      () => dialPodSocket(kc, where, inPod(prepared.session.address)).catch(() => null),
      { timeoutMs: 60_000, what: "a connection to the runner's socket through exec" },
    );
    const client = new RpcClient(stream);
    try {
      const status = await client.request('get_status');
      expect(status).toMatchObject({ task_name: prepared.session.task, task_dir: `${DATA_MOUNT}/task` });
      await waitFor(
        async () => {
          const { lines } = await client.request('peek');
          return lines.some((line) => line.includes('ECHO:READY'));
        },
        { timeoutMs: 60_000, what: 'the agent at its gate' },
      );
      expect((await client.request('peek')).lines.join('\n')).toContain('hello from a pod');
      await client.request('set_interactive_mode', { enabled: true });
      expect(await client.request('write_pty', { data: 'go\r' })).toEqual({ status: 'forwarded' });
    } finally {
      client.close();
    }

    const ended = await waitFor(
      async () => {
        const loop = await loops.get(loopId);
        return loop !== undefined && loop.state.status !== 'running' ? loop : null;
      },
      { timeoutMs: 90_000, what: 'the loop to end' },
    );
    expect(ended.state).toEqual({ status: 'completed', reason: 'all stories pass' });
    expect(await loops.stop(loopId, { waitMs: 60_000 })).toBe(true);
    expect(await loops.get(loopId)).toBeUndefined();
  }, 300_000);
});
