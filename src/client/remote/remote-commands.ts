/**
 * `ralph remote test` and `ralph remote start-loop`: what they ask a remote's daemon, and what they record.
 */
import { ralphPaths, type RalphPaths } from '../../config/paths.js';
import { Registry, type SessionRecord } from '../../registry/index.js';
import { closeZitiContexts, DaemonClient, type DaemonStep } from './daemon-client.js';
import type { DaemonHealth, StartLoopParams } from './daemon-types.js';
import { patchFromSummary } from './remote-status.js';
import { getRemote } from './remotes.js';

export interface RemoteTestResult {
  remote: string;
  health: DaemonHealth;
  identity: string | null;
  role: string | null;
}

/** Dials the remote, completes the greeting and asks `get_health`; `onStep` hears each step and its time. */
export async function testRemote(
  name: string,
  onStep: (step: DaemonStep | 'get_health', ms: number) => void,
  options: { timeoutMs?: number } = {},
  paths: RalphPaths = ralphPaths(),
): Promise<RemoteTestResult> {
  const remote = getRemote(name, paths);
  try {
    const daemon = await DaemonClient.open(remote, { onStep, timeoutMs: options.timeoutMs ?? 15_000 });
    try {
      const started = performance.now();
      const health = await daemon.getHealth();
      onStep('get_health', performance.now() - started);
      return { remote: name, health, identity: daemon.identity, role: daemon.role };
    } finally {
      daemon.close();
    }
  } finally {
    await closeZitiContexts();
  }
}

export interface StartRemoteOptions {
  agent?: string | undefined;
  maxIterations?: number | undefined;
  name?: string | undefined;
  agentCommand?: string | undefined;
}

/** Starts a loop on a remote from a task folder in its workspace and records its row here. */
export async function startRemoteLoop(
  remoteName: string,
  taskDir: string,
  options: StartRemoteOptions = {},
  paths: RalphPaths = ralphPaths(),
): Promise<SessionRecord> {
  const remote = getRemote(remoteName, paths);
  const params: StartLoopParams = { task_dir: taskDir };
  if (options.agent !== undefined) params.agent = options.agent;
  if (options.maxIterations !== undefined) params.max_iterations = options.maxIterations;
  if (options.name !== undefined) params.name = options.name;
  if (options.agentCommand !== undefined) params.agent_command = options.agentCommand;
  try {
    const daemon = await DaemonClient.open(remote);
    try {
      const started = await daemon.startLoop(params);
      const { loops } = await daemon.listLoops();
      const summary = loops.find((l) => l.task === started.task);
      const registry = Registry.open(paths.registryFile);
      try {
        return registry.transaction(() => {
          const fields =
            summary === undefined ? { status: started.status } : patchFromSummary(summary, new Date());
          const open = registry.findActive(started.task, remote.name);
          if (open !== undefined) return registry.update(open.id, fields);
          return registry.create({
            task: started.task,
            location: 'remote',
            transport: 'ziti',
            address: remote.service,
            identity: remote.identity,
            remoteName: remote.name,
            agent: summary?.agent ?? options.agent ?? 'default',
            taskDir: started.task_dir,
            maxIterations: summary?.max_iterations ?? options.maxIterations ?? 0,
            ...fields,
          });
        });
      } finally {
        registry.close();
      }
    } finally {
      daemon.close();
    }
  } finally {
    await closeZitiContexts();
  }
}
