/** `ralph stop`: ask the runner to stop and wait until the registry says it ended. */
import { ralphPaths, type RalphPaths } from '../config/paths.js';
import { RalphError, ExitCode } from '../errors.js';
import { isTerminal, Registry, type SessionRecord } from '../registry/index.js';
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
  const session = await withLoop(
    task,
    async (client, s) => {
      await client.request('stop', { force: options.force ?? false });
      return s;
    },
    paths,
  );
  const waitMs = options.waitMs ?? 15_000;
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
