/** get_status and get_iterations. */
import type { HandlerTable } from '../../protocol/index.js';
import type { LoopServer } from './server.js';
import { toWireIteration, toWireStatus } from './wire.js';

export function statusHandlers(server: LoopServer): HandlerTable {
  const { runner } = server;
  return {
    get_status: () =>
      toWireStatus(runner.state, {
        recentOutput: runner.recentOutput(),
        logEnd: runner.log.end,
        writer: server.writer?.label ?? null,
      }),
    get_iterations: () => ({ iterations: runner.iterations.all().map(toWireIteration) }),
  };
}
