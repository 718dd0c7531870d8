/** get_status, get_iterations and get_stories. */
import { join } from 'node:path';
import { errorMessage } from '../../errors.js';
import type { HandlerTable } from '../../protocol/dispatch.js';
import { RpcError } from '../../protocol/errors.js';
import { loadPrd, type Prd } from '../prd.js';
import type { LoopServer } from './server.js';
import { toWireIteration, toWireStatus, toWireStories } from './wire.js';

export function statusHandlers(server: LoopServer): HandlerTable {
  const { runner } = server;
  return {
    get_status: () =>
      toWireStatus(runner.state, {
        recentOutput: runner.recentOutput(),
        logEnd: runner.log.end,
        writer: server.writer?.name ?? null,
      }),
    get_iterations: () => ({ iterations: runner.iterations.all().map(toWireIteration) }),
    get_stories: () => {
      let prd: Prd;
      try {
        prd = loadPrd(join(runner.config.taskDir, 'prd.json'));
      } catch (err) {
        throw RpcError.of('INVALID_TASK', errorMessage(err));
      }
      return toWireStories(prd);
    },
  };
}
