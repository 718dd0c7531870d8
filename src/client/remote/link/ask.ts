/**
 * `ralph status` (and `wait`, the fleet view) through the link: when this user's link greets within a few ms,
 * each remote's `list_loops` is asked through it, over the daemon connection it keeps open; otherwise the
 * command asks directly, as it always did, and starts a link in the background for next time (never waiting
 * for it). Either way a remote's answer, or the reason it has none, reads the same.
 */
import type { RalphPaths } from '../../../config/paths.js';
import { RpcError } from '../../../protocol/errors.js';
import type { ListLoopsResult } from '../daemon-types.js';
import type { LoopLister } from '../remote-status.js';
import { LinkClient } from './client.js';
import { startLinkInBackground } from './spawn.js';

export interface LinkLister {
  list: LoopLister;
  close(): void;
}

/**
 * A lister that asks through the link of `paths`, or null when no link can be used now. A remote the link
 * itself fails for (its connection closed, an answer it cannot give) is asked through `fallback`.
 */
export async function linkLister(
  paths: RalphPaths,
  fallback: LoopLister,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LinkLister | null> {
  const found = await LinkClient.connect(paths);
  if (found.link === undefined) {
    if (found.unavailable === 'absent' || found.unavailable === 'other-build') startLinkInBackground(env);
    return null;
  }
  const link = found.link;
  let closed = false;
  return {
    list: async (remote, deadline) => {
      let answer: unknown;
      try {
        // A few ms beyond the caller's own deadline, as on the direct path: the caller's timeout is the one
        // that speaks.
        answer = await link.daemonCall(remote, 'list_loops', Math.max(1, deadline - Date.now()) + 5);
      } catch (err) {
        // Asking directly is worth it only while an answer can still count: not once the caller has given
        // up on this remote and closed the link (that would load the overlay code for nothing).
        const late = closed || Date.now() >= deadline;
        if (late || (err instanceof RpcError && err.kind === 'REMOTE_FAILED')) throw err;
        return fallback(remote, deadline);
      }
      const loops = (answer as Partial<ListLoopsResult> | null)?.loops;
      return Array.isArray(loops) ? loops : fallback(remote, deadline);
    },
    close: () => {
      closed = true;
      link.close();
    },
  };
}
