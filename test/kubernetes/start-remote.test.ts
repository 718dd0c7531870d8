/**
 * The whole flow of a loop on Kubernetes, from a laptop's RALPH_HOME over a real OpenZiti test network: `ralph
 * start --remote k8s1` pushes the task's branch to the daemon, whose Kubernetes executor creates the loop's Job
 * on the test cluster's real node (kubelet, containerd, runc; the runner image built here); the daemon sends
 * the branch into the pod through the API server; `ralph attach` shows the agent in the pod with keys echoed;
 * the agent commits in the pod; at the loop's end the daemon takes the commits home (a git bundle through exec)
 * before the runner exits; `ralph status` sees it completed, `ralph pull` brings the branch with the pod's
 * commit; the Job goes after its TTL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeZitiContexts } from '../../src/client/remote/daemon-client.js';
import type { SessionRecord } from '../../src/registry/index.js';
import { loadIdentity } from '../../src/ziti/identity.js';
import { ensureCliBuilt } from '../cli/built.js';
import { CliSandbox, useCliSandbox, waitFor } from '../cli/harness.js';
import {
  createDaemonService,
  startDaemonProcess,
  writeDaemonConfig,
  type DaemonProcess,
  type DaemonSetup,
} from '../daemon/harness.js';
import { gitOk, type GitRun } from '../git/harness.js';
import {
  LAPTOP_GIT_ID,
  addHostVolume,
  buildTestImage,
  commitAgentCommand,
  laptopTaskRepo,
  realNodeExecutor,
} from '../support/k8s-pods.js';
import { k8sNodeSuite, startTestCluster, type TestCluster } from '../support/k8s-cluster.js';
import { uniqueName } from '../ziti/e2e/helpers.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../ziti/network.js';

const NAMESPACE = 'loops';
const TAG = 'ralph-runner:start-remote';
const STORAGE_CLASS = 'ralph-real';

const enabled = zitiTestsEnabled() && k8sNodeSuite().available;

describe.skipIf(!enabled)('ralph start --remote to a daemon running loops on Kubernetes', () => {
  const laptop = useCliSandbox();
  let work: string;
  let cluster: TestCluster;
  let net: TestNetwork;
  let box: CliSandbox;
  let setup: DaemonSetup;
  let daemon: DaemonProcess;
  let git: GitRun;
  let repo: string;
  const service = uniqueName('ralph-k8s1');

  beforeAll(async () => {
    await ensureCliBuilt();
    work = mkdtempSync(join(tmpdir(), 'ralph-k8s-remote-'));
    cluster = await startTestCluster({ nodes: 0, realNode: true, namespace: NAMESPACE });
    const image = await buildTestImage(cluster, work, TAG);
    await addHostVolume(cluster, work, 'start-remote-data', STORAGE_CLASS);

    net = await acquireTestNetwork();
    await createDaemonService(net, service);
    box = new CliSandbox();
    setup = writeDaemonConfig(box, {
      identity: net.identities.server.file,
      service,
      roles: { [(await loadIdentity(net.identities.client.file)).name]: 'control' },
      executor: {
        ...realNodeExecutor(image, STORAGE_CLASS),
        kubeconfig: cluster.kubeconfig,
        ttlSecondsAfterFinished: 5,
      },
    });
    daemon = await startDaemonProcess(box, setup, []);

    ({ git, repo } = await laptopTaskRepo(join(laptop().root, 'work'), laptop().home, 'ralph/feat', [
      { print: 'hello from a pod' },
      { echo: { until: 'go\r', timeoutMs: 120_000 } },
      { writeFile: { path: 'work.txt', content: 'done in a pod\n' } },
      { passAll: true },
    ]));
  }, 400_000);

  afterAll(async () => {
    await closeZitiContexts();
    await daemon?.stop('SIGTERM');
    await box?.dispose();
    if (net !== undefined) {
      await net.ziti(['edge', 'delete', 'service', service]).catch(() => undefined);
      await net.stop();
    }
    await cluster?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  const ralph = (args: string[], timeoutMs = 120_000) =>
    laptop().ralph(args, { cwd: repo, env: LAPTOP_GIT_ID, timeoutMs });

  async function ok(args: string[]): Promise<string> {
    const r = await ralph(args);
    if (r.exitCode !== 0)
      throw new Error(`ralph ${args.join(' ')} exited ${r.exitCode}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  const jobs = async (): Promise<string[]> =>
    (
      await cluster.api<{ items: Array<{ metadata: { name: string } }> }>(
        'GET',
        `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`,
      )
    ).items.map((j) => j.metadata.name);

  it('start --remote, attach with keys, the agent commits in the pod, pull brings it home, the Job goes', async () => {
    await ok(['remote', 'add', 'k8s1', '--identity', net.identities.client.file, '--service', service]);
    const pushed = await gitOk(git, repo, ['rev-parse', 'HEAD']);
    const started = performance.now();
    const r = await ralph([
      'start',
      'tasks/feat',
      '--remote',
      'k8s1',
      '--agent',
      'custom',
      '--agent-cmd',
      commitAgentCommand('/var/lib/ralph/repo/tasks/feat/script.json'),
      '--max-iterations',
      '3',
      '--json',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const row = JSON.parse(r.stdout) as SessionRecord & { commit: string };
    expect(row).toMatchObject({ task: 'feat', remoteName: 'k8s1', branch: 'ralph/feat', commit: pushed });
    console.log(`[k8s start --remote] push + start_loop: ${(performance.now() - started).toFixed(0)} ms`);
    const created = await jobs();
    expect(created).toHaveLength(1);
    expect(created[0]).toMatch(/^ralph-[a-z0-9-]+-[0-9]+$/);

    const term = laptop().term(['attach', 'k8s1:feat', '-i', '--from', 'start'], { cols: 100, rows: 30 });
    await term.waitFor('ECHO:READY', 'the agent in the pod through ralph attach', { timeoutMs: 180_000 });
    expect(term.text()).toContain('hello from a pod');
    await term.waitFor('you have the keyboard', 'the keyboard');
    term.write('go\r');
    await term.waitFor('ECHO:"go\\r"', 'the keys echoed from the pod');
    await term.exited('attach to end with the loop', 120_000);

    let last: SessionRecord | undefined;
    await waitFor(
      async () => {
        const json = JSON.parse(await ok(['status', '--json', '--remote-timeout', '10s'])) as {
          sessions: SessionRecord[];
        };
        last = json.sessions.find((s) => s.task === 'feat' && s.remoteName === 'k8s1');
        return last !== undefined && !['running', 'starting'].includes(last.status);
      },
      'the loop in the pod to end',
      120_000,
    );
    expect(last?.status).toBe('completed');

    const boxRepo = join(setup.workspace, 'repos', 'proj.git');
    const boxHead = await gitOk(git, boxRepo, ['rev-parse', 'refs/heads/ralph/feat']);
    expect(boxHead).not.toBe(pushed);
    expect(await gitOk(git, boxRepo, ['rev-parse', 'refs/heads/ralph/feat^'])).toBe(pushed);
    const pulled = JSON.parse(await ok(['pull', 'k8s1:feat', '--json'])) as Record<string, unknown>;
    expect(pulled).toMatchObject({ outcome: 'created', local_branch: 'ralph/feat', commit: boxHead });
    expect(await gitOk(git, repo, ['show', 'ralph/feat:tasks/feat/work.txt'])).toBe('done in a pod');
    expect(await gitOk(git, repo, ['log', '-1', '--format=%an: %s', 'ralph/feat'])).toBe(
      'Pod: agent: work in a pod',
    );

    await waitFor(async () => (await jobs()).length === 0, 'the Job to go after its TTL', 90_000);
    expect(daemon.log.some((l) => l.includes('loop commits brought home'))).toBe(true);
  }, 600_000);
});
