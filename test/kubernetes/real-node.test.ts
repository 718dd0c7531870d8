/**
 * The real node of the loopback test cluster: containerd, runc and a kubelet joined as node 127.0.0.1 run a
 * busybox image imported from an OCI archive (no registry); logs and exec go through the API server to the
 * kubelet. Skipped with a notice unless this runs as root with the binaries, containerd, runc, the pause image
 * (`bash scripts/install-k8s-node.sh`) and a static /bin/busybox (busybox-static); fails instead with
 * RALPH_REQUIRE_K8S_NODE=1.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { Exec, KubeConfig, type V1Status } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NODE_INSTALL_HINT,
  REAL_NODE_LABEL,
  REAL_NODE_NAME,
  REAL_NODE_TAINT,
  REQUIRE_K8S_NODE_ENV,
  findK8sBinaries,
  findNodeTools,
  k8sNodeAvailability,
  k8sNodeSuite,
  startTestCluster,
  waitFor,
  writeOciImage,
  type TestCluster,
} from '../support/k8s-cluster.js';

const NS = 'ralph-real-node';
const IMAGE = 'localhost/ralph/busybox:test';
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'cat', 'echo', 'sleep', 'id'];
const USER_ID = 65532;

interface Condition {
  type: string;
  status: string;
}

interface ContainerState {
  running?: { startedAt: string };
  terminated?: { exitCode: number; reason?: string; message?: string };
  waiting?: { reason?: string; message?: string };
}

interface Pod {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: {
    phase: string;
    hostIP?: string;
    podIP?: string;
    containerStatuses?: Array<{ name: string; containerID?: string; state: ContainerState }>;
  };
}

interface Node {
  metadata: { labels?: Record<string, string> };
  spec: { taints?: Array<{ key: string; value?: string; effect: string }> };
  status: {
    conditions?: Condition[];
    addresses?: Array<{ type: string; address: string }>;
    daemonEndpoints?: { kubeletEndpoint?: { Port: number } };
    nodeInfo?: { containerRuntimeVersion: string; kubeletVersion: string };
  };
}

interface Event {
  reason?: string;
  message?: string;
}

/**
 * Whether `file` is an ELF executable without a program interpreter (a static one: it runs in an image holding
 * nothing else), else why not.
 */
function staticExecutable(file: string): string | null {
  if (!existsSync(file)) return `${file} is missing`;
  const elf = readFileSync(file);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return `${file} is not a 64-bit ELF executable`;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  for (let i = 0; i < elf.readUInt16LE(0x38); i += 1) {
    if (elf.readUInt32LE(phoff + i * phentsize) === 3) return `${file} is dynamically linked`;
  }
  return null;
}

const busyboxProblem = staticExecutable(BUSYBOX);
const requireNode = process.env[REQUIRE_K8S_NODE_ENV] === '1';
const nodeSuite = k8sNodeSuite();
if (nodeSuite.available && busyboxProblem && !requireNode) {
  console.warn(
    `[k8s] SKIPPING the real-node Kubernetes tests: ${busyboxProblem} (Debian package busybox-static; ` +
      `\`${NODE_INSTALL_HINT}\` installs it). Set ${REQUIRE_K8S_NODE_ENV}=1 to make its absence a failure.`,
  );
}
const runNodeTests = nodeSuite.available && (busyboxProblem === null || requireNode);

/** A hostNetwork pod for the real node, running as 65532 with an emptyDir at /scratch. */
function podManifest(name: string, command: string[], o: { hostNetwork?: boolean } = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      hostNetwork: o.hostNetwork ?? true,
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 2,
      nodeSelector: { [REAL_NODE_LABEL]: 'true' },
      tolerations: [{ ...REAL_NODE_TAINT, operator: 'Equal' }],
      securityContext: { runAsUser: USER_ID, runAsGroup: USER_ID, runAsNonRoot: true },
      containers: [
        {
          name: 'main',
          image: IMAGE,
          imagePullPolicy: 'Never',
          command,
          volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
        },
      ],
      volumes: [{ name: 'scratch', emptyDir: {} }],
    },
  };
}

describe('real node without its tools', () => {
  it('skips with the install command, or runs and fails with RALPH_REQUIRE_K8S_NODE=1', async () => {
    const missing = { RALPH_K8S_BIN: '/nonexistent/k8s-bin', HOME: '/nonexistent', PATH: '/nonexistent' };
    const skipped = k8sNodeAvailability(missing);
    expect(skipped.available).toBe(false);
    expect(skipped.reason).toContain(NODE_INSTALL_HINT);
    expect(k8sNodeAvailability({ ...missing, [REQUIRE_K8S_NODE_ENV]: '1' }).available).toBe(true);

    // With the control plane binaries but no node tools, the start fails before anything runs.
    const binaries = findK8sBinaries();
    if (!binaries) return;
    const saved = { bin: process.env.RALPH_K8S_BIN, path: process.env.PATH };
    process.env.RALPH_K8S_BIN = '/nonexistent/k8s-bin';
    process.env.PATH = '/nonexistent';
    try {
      await expect(startTestCluster({ binaries, realNode: true })).rejects.toMatchObject({
        code: 'K8S_NODE_NOT_FOUND',
        message: expect.stringContaining(NODE_INSTALL_HINT),
      });
    } finally {
      if (saved.bin === undefined) delete process.env.RALPH_K8S_BIN;
      else process.env.RALPH_K8S_BIN = saved.bin;
      if (saved.path === undefined) delete process.env.PATH;
      else process.env.PATH = saved.path;
    }
  });
});

describe.skipIf(!runNodeTests)('loopback cluster with a real node', () => {
  let cluster: TestCluster;
  let work: string;
  let kc: KubeConfig;

  const podPath = (name: string) => `/api/v1/namespaces/${NS}/pods/${name}`;
  const getPod = (name: string) => cluster.api<Pod>('GET', podPath(name));
  const createPod = (manifest: object) => cluster.api('POST', `/api/v1/namespaces/${NS}/pods`, manifest);
  const waitForPod = (name: string, what: string, done: (pod: Pod) => boolean, timeoutMs = 60_000) =>
    waitFor(
      async () => {
        const pod = await getPod(name);
        return done(pod) ? pod : null;
      },
      { timeoutMs, what: `pod ${name} to be ${what}`, watch: cluster.processes },
    );
  const containerId = (pod: Pod) => pod.status.containerStatuses?.[0]?.containerID?.replace(/^\w+:\/\//, '');

  /** Runs `command` in pod `pod` through the API server; resolves when the status channel reports. */
  const execIn = (pod: string, command: string[], stdinData?: Buffer) =>
    new Promise<{ stdout: Buffer; stderr: string; status: V1Status }>((resolveExec, reject) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      const sink = (chunks: Buffer[]) =>
        new Writable({
          write(chunk: Buffer, _encoding, callback) {
            chunks.push(Buffer.from(chunk));
            callback();
          },
        });
      const stdin = stdinData === undefined ? null : new PassThrough();
      const timer = setTimeout(() => reject(new Error(`exec ${command.join(' ')} timed out`)), 30_000);
      new Exec(kc)
        .exec(NS, pod, 'main', command, sink(stdout), sink(stderr), stdin, false, (status) => {
          clearTimeout(timer);
          resolveExec({
            stdout: Buffer.concat(stdout),
            stderr: Buffer.concat(stderr).toString('utf8'),
            status,
          });
        })
        .then(
          () => stdin?.end(stdinData),
          (err: unknown) => {
            clearTimeout(timer);
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
    });

  beforeAll(async () => {
    if (busyboxProblem) throw new Error(`the test image needs a static busybox: ${busyboxProblem}`);
    work = mkdtempSync(join(tmpdir(), 'ralph-real-node-'));
    const archive = join(work, 'busybox.oci.tar');
    writeOciImage(archive, {
      name: IMAGE,
      files: [
        { path: 'bin/busybox', source: BUSYBOX, mode: 0o755 },
        ...APPLETS.map((applet) => ({ path: `bin/${applet}`, symlink: 'busybox' })),
        { path: 'tmp', dir: true, mode: 0o1777 },
        { path: 'etc', dir: true },
      ],
      cmd: ['sh'],
      user: `${USER_ID}:${USER_ID}`,
    });
    cluster = await startTestCluster({ nodes: 1, namespace: NS, realNode: true });
    const imported = Date.now();
    expect(await cluster.importImage(archive)).toBe(IMAGE);
    console.log(
      `[k8s] cluster with a real node up in ${cluster.startupMs} ms (node Ready ${cluster.realNode?.readyMs} ms ` +
        `after containerd started, snapshotter ${cluster.realNode?.snapshotter}); image imported in ` +
        `${Date.now() - imported} ms (${cluster.dir})`,
    );
    kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('joins a Ready node 127.0.0.1, labelled and tainted, serving its kubelet on 127.0.0.1', async () => {
    expect(cluster.realNode).toMatchObject({ name: REAL_NODE_NAME, label: REAL_NODE_LABEL });
    const node = await cluster.api<Node>('GET', `/api/v1/nodes/${REAL_NODE_NAME}`);
    expect(node.metadata.labels?.[REAL_NODE_LABEL]).toBe('true');
    expect(node.spec.taints).toEqual([{ key: REAL_NODE_TAINT.key, value: 'true', effect: 'NoSchedule' }]);
    expect(node.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.status.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' });
    expect(node.status.daemonEndpoints?.kubeletEndpoint?.Port).toBe(cluster.realNode?.kubeletPort);
    expect(node.status.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\//);
    expect(node.status.nodeInfo?.kubeletVersion).toBe('v1.34.4');
  });

  it('runs a hostNetwork pod as 65532 and serves its log through the API server', async () => {
    const created = Date.now();
    await createPod(podManifest('sleeper', ['sh', '-c', 'echo hello; sleep 3600']));
    const pod = await waitForPod('sleeper', 'Running', (p) => p.status.phase === 'Running');
    console.log(`[k8s] pod sleeper Running ${Date.now() - created} ms after it was created`);
    expect(pod.spec.nodeName).toBe(REAL_NODE_NAME);
    expect(pod.status.hostIP).toBe('127.0.0.1');
    expect(pod.status.containerStatuses?.[0]?.state.running).toBeDefined();

    const log = await waitFor(
      async () => {
        const res = await cluster.request<string>('GET', `${podPath('sleeper')}/log`);
        return res.status === 200 && res.body.includes('hello') ? res.body : null;
      },
      { timeoutMs: 20_000, what: 'the log of pod sleeper to say hello', watch: cluster.processes },
    );
    expect(log).toBe('hello\n');
  });

  it('execs through the API server: cat echoes the bytes sent to its stdin', async () => {
    const sent = Buffer.concat([Buffer.from('ping from the test\n'), Buffer.from([0, 1, 2, 200, 255, 10])]);
    const { stdout, stderr, status } = await execIn('sleeper', ['cat'], sent);
    expect(status.status).toBe('Success');
    expect(stderr).toBe('');
    expect(stdout.equals(sent)).toBe(true);
  });

  it('reports an exec exit code on the status channel', async () => {
    const { status } = await execIn('sleeper', ['sh', '-c', 'echo bye; exit 3']);
    expect(status).toMatchObject({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
  });

  it('runs the container as 65532 with a writable emptyDir', async () => {
    const { stdout, status } = await execIn('sleeper', [
      'sh',
      '-c',
      'id -u; id -g; echo kept >/scratch/note; cat /scratch/note',
    ]);
    expect(status.status).toBe('Success');
    expect(stdout.toString('utf8')).toBe(`${USER_ID}\n${USER_ID}\nkept\n`);
  });

  it('deletes the pod: its container stops and the pod is gone', async () => {
    const id = containerId(await getPod('sleeper'));
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const socket = cluster.realNode!.containerdSocket;
    const ctr = findNodeTools().tools?.ctr ?? 'ctr';
    const tasks = () =>
      execFileSync(ctr, ['--address', socket, '--namespace', 'k8s.io', 'tasks', 'ls', '-q'], {
        encoding: 'utf8',
        timeout: 10_000,
      });
    expect(tasks()).toContain(id);
    const deleted = Date.now();
    await cluster.api('DELETE', podPath('sleeper'));
    await waitFor(async () => (await cluster.request('GET', podPath('sleeper'))).status === 404, {
      timeoutMs: 60_000,
      what: 'pod sleeper to be removed',
      watch: cluster.processes,
    });
    console.log(`[k8s] pod sleeper removed ${Date.now() - deleted} ms after the DELETE`);
    await waitFor(() => Promise.resolve(!tasks().includes(id!)), {
      timeoutMs: 30_000,
      what: `containerd's task ${id} to be gone`,
      watch: cluster.processes,
    });
  });

  it('puts the termination message a container writes into the pod status', async () => {
    const message = 'all done: 42 files';
    await createPod(
      podManifest('farewell', ['sh', '-c', `echo -n '${message}' >/dev/termination-log; exit 0`]),
    );
    const pod = await waitForPod('farewell', 'Succeeded', (p) => p.status.phase === 'Succeeded');
    expect(pod.status.containerStatuses?.[0]?.state.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
      message,
    });
  });

  it('reports a failing container with its exit code', async () => {
    await createPod(podManifest('failing', ['sh', '-c', 'echo oops >&2; exit 7']));
    const pod = await waitForPod('failing', 'Failed', (p) => p.status.phase === 'Failed');
    expect(pod.status.containerStatuses?.[0]?.state.terminated).toMatchObject({
      exitCode: 7,
      reason: 'Error',
    });
  });

  it('refuses a pod without hostNetwork, with an event saying so', async () => {
    await createPod(podManifest('no-host-network', ['sleep', '60'], { hostNetwork: false }));
    const event = await waitFor(
      async () => {
        const events = await cluster.api<{ items: Event[] }>(
          'GET',
          `/api/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name%3Dno-host-network`,
        );
        return events.items.find((e) => e.reason === 'FailedCreatePodSandBox');
      },
      { timeoutMs: 30_000, what: 'a FailedCreatePodSandBox event', watch: cluster.processes },
    );
    expect(event.message).toContain('pods on it need hostNetwork: true');
    expect((await getPod('no-host-network')).status.phase).toBe('Pending');
  });

  it('stop() ends the node, its containers and mounts, and removes the folder', async () => {
    await createPod(podManifest('left-running', ['sleep', '3600']));
    const pod = await waitForPod('left-running', 'Running', (p) => p.status.phase === 'Running');
    const id = containerId(pod)!;
    const pids = cluster.processes.map((p) => p.pid);
    const dir = cluster.dir;
    await cluster.stop();

    expect(existsSync(dir)).toBe(false);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mounts).not.toContain(dir);
    for (const pid of pids) expect(existsSync(`/proc/${pid}`)).toBe(false);
    // No process is left whose command line names the cluster folder (containerd, the kubelet, the shims).
    const leftovers = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .filter((name) => {
        try {
          return readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(dir);
        } catch {
          return false;
        }
      });
    expect(leftovers).toEqual([]);
    // The container's cgroups went with it (wherever the cgroup hierarchies are mounted).
    const cgroupRoots = existsSync('/sys/fs/cgroup')
      ? ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((n) => join('/sys/fs/cgroup', n))]
      : [];
    for (const root of cgroupRoots) expect(existsSync(join(root, 'k8s.io', id))).toBe(false);
  }, 120_000);
});
