/**
 * The helper's connector for remotes: the remote's daemon dialed over the overlay with the identity and service
 * the remotes config names (DaemonClient: dial, greeting, identity proof), then the connection taken back from
 * the JSON-RPC client for `git_connect` and git's bytes.
 */
import { DaemonClient, closeZitiContexts } from '../client/remote/daemon-client.js';
import { getRemote } from '../client/remote/remotes.js';
import type { GitConnector } from './remote-helper.js';

export interface DaemonConnectorOptions {
  /** Bound on login, dial, greeting and proof; DaemonClient's default when absent. */
  timeoutMs?: number;
}

export function daemonConnector(options: DaemonConnectorOptions = {}): GitConnector {
  return async (name) => {
    const remote = getRemote(name);
    let client: DaemonClient;
    try {
      client = await DaemonClient.open(
        remote,
        options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs },
      );
    } catch (err) {
      await closeZitiContexts();
      throw err;
    }
    const { stream, pending } = client.rpc.release();
    return { stream, pending, dispose: () => closeZitiContexts() };
  };
}
