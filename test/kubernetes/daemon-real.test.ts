/**
 * `ralph daemon` with the Kubernetes executor on a real pod: `start_loop` on a task folder in the daemon's
 * workspace creates the Job; the daemon streams the loop's files into the pod through the API server; per-loop
 * calls through the daemon (peek, keys) and a connection handed over with `open_loop` reach the runner in the
 * pod; the loop's end comes back as its true status; the Job goes after its TTL while the daemon keeps the
 * loop's record.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcClient } from '../../src/protocol/index.js';
import { isTerminal, type SessionStatus } from '../../src/registry/index.js';
import { ensureCliBuilt } from '../cli/built.js';
import { CliSandbox } from '../cli/harness.js';
import {
  LineClient,
  startDaemonProcess,
  writeDaemonConfig,
  type DaemonProcess,
  type DaemonSetup,
} from '../daemon/harness.js';
import { prdJson } from '../support/prd.js';
import { AGENT_DIR, addHostVolume, buildTestImage, realNodeExecutor } from '../support/k8s-pods.js';
import { k8sNodeSuite, startTestCluster, waitFor, type TestCluster } from '../support/k8s-cluster.js';

const NAMESPACE = 'loops';
const SERVICE = 'k8s1';
const TAG = 'ralph-runner:daemon-e2e';
const STORAGE_CLASS = 'ralph-real';

let work: string;
let cluster: TestCluster;
let sandbox: CliSandbox;
let setup: DaemonSetup;
let daemon: DaemonProcess | null = null;

interface Loop {
  task: string;
  loop_id: string;
  status: string;
  exit_reason: string | null;
}

describe.skipIf(!k8sNodeSuite().available)('ralph daemon running a loop in a real pod', () => {
  beforeAll(async () => {
    await ensureCliBuilt();
    work = mkdtempSync(join(tmpdir(), 'ralph-daemon-real-'));
    cluster = await startTestCluster({ nodes: 0, realNode: true, namespace: NAMESPACE });
    const image = await buildTestImage(cluster, work, TAG);
    await addHostVolume(cluster, work, 'daemon-real-data', STORAGE_CLASS);
    sandbox = new CliSandbox();
    setup = writeDaemonConfig(sandbox, {
      service: SERVICE,
      executor: {
        ...realNodeExecutor(image, STORAGE_CLASS),
        kubeconfig: cluster.kubeconfig,
        ttlSecondsAfterFinished: 3,
      },
    });
    const taskDir = join(setup.workspace, 'pod-task');
    mkdirSync(taskDir);
    writeFileSync(join(taskDir, 'prd.json'), JSON.stringify(prdJson(1), null, 2));
    writeFileSync(join(taskDir, 'prompt.md'), '# Prompt\n\nMake the story pass.\n');
    const script = [
      { print: 'hello from a pod' },
      { echo: { until: 'go\r', timeoutMs: 60_000 } },
      { passStory: 'current' },
    ];
    writeFileSync(join(taskDir, 'script.json'), JSON.stringify(script));
    daemon = await startDaemonProcess(sandbox, setup);
  }, 300_000);
  afterAll(async () => {
    await daemon?.stop('SIGTERM').catch(() => undefined);
    await sandbox?.dispose();
    await cluster?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('starts the loop as a Job, sends its files, reaches its runner, and records its end', async () => {
    const client = await LineClient.unix(setup.socket);
    await client.hello;
    try {
      const started = await client.ok<{ task: string; loop_id: string; status: string }>('start_loop', {
        task_dir: 'pod-task',
        agent: 'custom',
        agent_command: `node ${AGENT_DIR}/fake-agent.mjs --script /var/lib/ralph/task/script.json`,
        max_iterations: 3,
      });
      expect(started).toMatchObject({ task: 'pod-task', status: 'starting' });
      const job = `ralph-${SERVICE}-${started.loop_id}`;
      await cluster.api('GET', `/apis/batch/v1/namespaces/${NAMESPACE}/jobs/${job}`);

      // Per-loop calls go through the daemon to the runner in the pod (exec into it, no route, no Service).
      await waitFor(
        async () => {
          const answer = await client.call('peek', { task: 'pod-task' });
          return answer.result !== undefined &&
            (answer.result as { lines: string[] }).lines.some((l) => l.includes('ECHO:READY'))
            ? true
            : null;
        },
        { timeoutMs: 120_000, what: 'the agent in the pod at its gate' },
      );
      const status = await client.ok<{ task_name: string; task_dir: string }>('get_status', {
        task: 'pod-task',
      });
      expect(status).toMatchObject({ task_name: 'pod-task', task_dir: '/var/lib/ralph/task' });

      // A connection handed over to the loop carries the runner's protocol straight through.
      const handed = await LineClient.unix(setup.socket);
      await handed.hello;
      const opened = await handed.ok<{ task: string; status: string }>('open_loop', { task: 'pod-task' });
      expect(opened).toMatchObject({ task: 'pod-task', status: 'running' });
      const direct = new RpcClient(handed.release());
      try {
        const { lines } = await direct.request('peek');
        expect(lines.join('\n')).toContain('hello from a pod');
        await direct.request('set_interactive_mode', { enabled: true });
        expect(await direct.request('write_pty', { data: 'go\r' })).toEqual({ status: 'forwarded' });
      } finally {
        direct.close();
      }

      const ended = await waitFor(
        async () => {
          const loops = (await client.ok<{ loops: Loop[] }>('list_loops')).loops;
          const loop = loops.find((l) => l.task === 'pod-task');
          return loop !== undefined && isTerminal(loop.status as SessionStatus) ? loop : null;
        },
        { timeoutMs: 120_000, what: 'the loop to end' },
      );
      expect(ended).toMatchObject({ status: 'completed', exit_reason: 'all stories pass' });

      // Its Job goes after its TTL; the daemon keeps the loop's record.
      await waitFor(
        async () => {
          const jobs = await cluster.api<{ items: unknown[] }>(
            'GET',
            `/apis/batch/v1/namespaces/${NAMESPACE}/jobs?labelSelector=ralph.dev/daemon=${SERVICE}`,
          );
          return jobs.items.length === 0;
        },
        { timeoutMs: 60_000, what: 'the Job to go after its TTL' },
      );
      const after = (await client.ok<{ loops: Loop[] }>('list_loops')).loops;
      expect(after.find((l) => l.task === 'pod-task')).toMatchObject({ status: 'completed' });
      const stop = await client.ok('stop_loop', { task: 'pod-task' });
      expect(stop).toEqual({ task: 'pod-task', status: 'completed' });
    } finally {
      client.close();
    }
  }, 400_000);
});
