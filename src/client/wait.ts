/**
 * `ralph wait`: blocks until the named loops have ended. The registry is read (and reconciled, so a runner
 * that died counts as `crashed`) every `pollMs`; the sessions are fixed when the wait begins, so a loop
 * started again under the same name later is not waited for.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ralphPaths, type RalphPaths } from '../config/paths.js';
import { ExitCode, RalphError } from '../errors.js';
import { isTerminal, reconcile, Registry, type SessionRecord } from '../registry/index.js';
import { findSession } from './find.js';
import { reconcileAll } from './status.js';

const REMOTE_POLL_MS = 2000;

export interface WaitOptions {
  tasks: string[];
  /** Give up after this long (0 or unset = wait for ever); WAIT_TIMEOUT, exit code 9. */
  timeoutMs?: number | undefined;
  pollMs?: number | undefined;
  /** Called once for each loop as it is seen to end. */
  onEnded?: ((session: SessionRecord) => void) | undefined;
}

export async function waitForLoops(
  options: WaitOptions,
  paths: RalphPaths = ralphPaths(),
): Promise<SessionRecord[]> {
  const pollMs = options.pollMs ?? 500;
  const deadline = options.timeoutMs ? Date.now() + options.timeoutMs : Infinity;
  const registry = Registry.open(paths.registryFile);
  try {
    const found = options.tasks.map((task) => findSession(registry, task));
    const ids = found.map((s) => s.id);
    // A remote loop's end is learnt by asking its remote, which costs a login and a dial: not twice a second.
    const remote = found.some((s) => s.location === 'remote');
    const interval = remote ? Math.max(pollMs, REMOTE_POLL_MS) : pollMs;
    const reported = new Set<number>();
    for (;;) {
      if (remote) await reconcileAll(registry, paths);
      else await reconcile(registry);
      const sessions = ids.map((id) => registry.get(id)).filter((s): s is SessionRecord => s !== undefined);
      for (const s of sessions) {
        if (isTerminal(s.status) && !reported.has(s.id)) {
          reported.add(s.id);
          options.onEnded?.(s);
        }
      }
      if (sessions.length === ids.length && sessions.every((s) => isTerminal(s.status))) return sessions;
      if (Date.now() + interval > deadline) {
        const open = sessions.filter((s) => !isTerminal(s.status)).map((s) => `${s.task} (${s.status})`);
        throw new RalphError('WAIT_TIMEOUT', `gave up waiting; still running: ${open.join(', ')}`, {
          exitCode: ExitCode.timeout,
        });
      }
      await sleep(interval);
    }
  } finally {
    registry.close();
  }
}
