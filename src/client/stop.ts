/** `ralph stop`: ask the runner to stop and wait until the registry says it ended. */
import { ralphPaths, sessionDir, type RalphPaths } from '../config/paths.js';
import { killSurvivingAgent } from '../loop/leftovers.js';
import { RalphError, ExitCode } from '../errors.js';
import type { RpcClient } from '../protocol/index.js';
import {
  isTerminal,
  reconcile,
  Registry,
  type SessionRecord,
  type SessionStatus,
} from '../registry/index.js';
import { taskAddress } from './find.js';
import { withLoop } from './session-call.js';

export interface StopOptions {
  force?: boolean | undefined;
  /** How long to wait for the loop to end; 0 returns as soon as the request is accepted. */
  waitMs?: number | undefined;
}

export async function stopLoop(
  task: string,
  options: StopOptions = {},
  paths: RalphPaths = ralphPaths(),
): Promise<SessionRecord> {
  if (options.force) {
    const leftover = await killLeftoverAgent(task, paths);
    if (leftover !== null) return leftover;
  }
  const waitMs = options.waitMs ?? 15_000;
  const session = await withLoop(
    task,
    async (client, s) => {
      await client.request('stop', { force: options.force ?? false });
      return s.location === 'remote' ? followRemoteStop(client, s, waitMs, paths) : s;
    },
    paths,
  );
  if (session.location === 'remote') return session;
  const deadline = Date.now() + waitMs;
  const registry = Registry.open(paths.registryFile);
  try {
    for (;;) {
      const now = registry.get(session.id);
      if (!now || isTerminal(now.status) || waitMs === 0) return now ?? session;
      if (Date.now() > deadline) {
        throw new RalphError('STOP_TIMEOUT', `loop ${task} did not end within ${waitMs} ms`, {
          exitCode: ExitCode.timeout,
          hint: `force it with: ralph stop ${task} --force`,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    registry.close();
  }
}

/**
 * A remote loop's registry row is not written by its runner: the same connection asks the loop how it stands
 * until it has ended (or its runner hangs up, having ended), and the row is updated from the answer.
 */
async function followRemoteStop(
  client: RpcClient,
  session: SessionRecord,
  waitMs: number,
  paths: RalphPaths,
): Promise<SessionRecord> {
  const deadline = Date.now() + waitMs;
  let last: { status: SessionStatus; exit_reason: string | null; iteration: number } | null = null;
  while (waitMs > 0 && !client.closed) {
    try {
      const status = await client.request('get_status', undefined, { timeoutMs: 5000 });
      last = status;
      if (isTerminal(status.status)) break;
    } catch {
      break; // the runner hung up: it has ended
    }
    if (Date.now() > deadline) {
      throw new RalphError('STOP_TIMEOUT', `loop ${taskAddress(session)} did not end within ${waitMs} ms`, {
        exitCode: ExitCode.timeout,
        hint: `force it with: ralph stop ${taskAddress(session)} --force`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const registry = Registry.open(paths.registryFile);
  try {
    const ended =
      last !== null && isTerminal(last.status) ? last : { status: 'stopped' as const, exit_reason: null };
    if (waitMs === 0) return registry.get(session.id) ?? session;
    const current = registry.get(session.id);
    if (current === undefined || isTerminal(current.status)) return current ?? session;
    return registry.update(session.id, {
      status: ended.status,
      exitReason: ended.exit_reason,
      ...(last === null ? {} : { iteration: last.iteration }),
      lastSeen: new Date().toISOString(),
    });
  } finally {
    registry.close();
  }
}

/**
 * `stop --force` on a loop whose runner is gone: reconcile first (a runner killed a moment ago still reads as
 * running), then kill the agent the crashed session left running, if its pid still names that agent. Returns
 * the session when an agent was killed, null when there was none (the live-loop path then takes over).
 */
async function killLeftoverAgent(task: string, paths: RalphPaths): Promise<SessionRecord | null> {
  const registry = Registry.open(paths.registryFile);
  try {
    await reconcile(registry);
    const session = registry.latest(task);
    if (session === undefined || session.location !== 'local' || !isTerminal(session.status)) return null;
    const killed = killSurvivingAgent(sessionDir(paths, session));
    if (killed === null) return null;
    const reason = (session.exitReason ?? '').replace(/; its agent \(pid \d+\) is still running$/, '');
    return registry.update(session.id, {
      exitReason: `${reason}; its agent (pid ${killed.pid}) was killed by ralph stop --force`,
    });
  } finally {
    registry.close();
  }
}
