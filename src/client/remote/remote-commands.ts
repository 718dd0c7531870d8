/**
 * `ralph remote test` and `ralph remote start-loop`: what they ask a remote's daemon, and what they record.
 * The Ziti context they open is closed when the command ends (cli/main.ts), or with the fleet in the TUI.
 */
import { ralphPaths, type RalphPaths } from '../../config/paths.js';
import { Registry, type SessionRecord } from '../../registry/index.js';
import { DaemonClient, type DaemonStep } from './daemon-client.js';
import type { DaemonHealth, LoopSummary, StartLoopParams, StartLoopResult } from './daemon-types.js';
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
  const daemon = await DaemonClient.open(remote, { onStep, timeoutMs: options.timeoutMs ?? 15_000 });
  try {
    const started = performance.now();
    const health = await daemon.getHealth();
    onStep('get_health', performance.now() - started);
    return { remote: name, health, identity: daemon.identity, role: daemon.role };
  } finally {
    daemon.close();
  }
}

export interface StartRemoteOptions {
  agent?: string | undefined;
  maxIterations?: number | undefined;
  name?: string | undefined;
  agentCommand?: string | undefined;
  /** Refuse to start rather than install a missing agent on the remote. */
  noInstall?: boolean | undefined;
  /** Each line of an agent install the remote runs first. */
  onInstallLine?: ((agent: string, line: string) => void) | undefined;
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
  // The daemon checks the name against the agents it knows (INVALID_PARAMS names them).
  if (options.agent !== undefined) params.agent = options.agent as StartLoopParams['agent'];
  if (options.maxIterations !== undefined) params.max_iterations = options.maxIterations;
  if (options.name !== undefined) params.name = options.name;
  if (options.agentCommand !== undefined) params.agent_command = options.agentCommand;
  if (options.noInstall === true) params.no_install = true;
  const daemon = await DaemonClient.open(remote);
  let started: StartLoopResult;
  let summary: LoopSummary | undefined;
  try {
    started = await daemon.startLoop(params, options.onInstallLine);
    summary = (await daemon.listLoops()).loops.find((l) => l.task === started.task);
  } finally {
    daemon.close();
  }
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
}
