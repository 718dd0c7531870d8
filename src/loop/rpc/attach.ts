/** attach, detach and peek: the raw terminal stream and the rendered screen. */
import { RpcError, type HandlerTable } from '../../protocol/index.js';
import type { LoopServer } from './server.js';

export function attachHandlers(server: LoopServer): HandlerTable {
  const { runner, feed } = server;
  return {
    attach: ({ from_offset }, conn) => {
      const end = runner.log.end;
      const from = from_offset ?? defaultReplayStart(server);
      if (from > end) {
        throw RpcError.of('OFFSET_OUT_OF_RANGE', `offset ${from} is past the end of the log (${end})`, {
          offset: from,
          end_offset: end,
        });
      }
      feed.attach(conn, from);
      // Replay starts after this response is written, so the client sees the result first.
      setImmediate(() => feed.pump(conn));
      return {
        from_offset: from,
        replay_end: end,
        cols: runner.state.cols,
        rows: runner.state.rows,
        interactive_mode: runner.state.interactive,
      };
    },
    detach: (_params, conn) => {
      feed.detach(conn);
      server.releaseLease(conn, 'detached');
      return { detached: true };
    },
    peek: async ({ scrollback }) => {
      const screen = await runner.peek(scrollback ?? 0);
      const { cols, rows, cursor, lines, history } = screen;
      return scrollback ? { cols, rows, cursor, lines, history } : { cols, rows, cursor, lines };
    },
  };
}

/** Without an offset, replay the current iteration, but never more than the last 1 MiB. */
function defaultReplayStart(server: LoopServer): number {
  const end = server.runner.log.end;
  const iterationStart = server.runner.iterations.last()?.startOffset ?? 0;
  return Math.max(iterationStart, end - DEFAULT_REPLAY_BYTES);
}

const DEFAULT_REPLAY_BYTES = 1024 * 1024;
