/** attach, detach and peek: the raw terminal stream and the rendered screen. */
import type { RpcConnection } from '../../protocol/connection.js';
import type { HandlerTable } from '../../protocol/dispatch.js';
import { RpcError } from '../../protocol/errors.js';
import type { LoopServer } from './server.js';

export function attachHandlers(server: LoopServer): HandlerTable {
  const { runner, feed } = server;
  return {
    attach: ({ from_offset, framing, client }, conn) => {
      checkFraming(framing, conn);
      if (client !== undefined) conn.about = client;
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
        // The connection switches once this response has been sent (see serveConnection).
        framing: conn.switching ? 'binary' : conn.framing,
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

/**
 * Binary frames are asked for by an `attach` request of its own: the connection switches right after its
 * response, which a request inside a batch or a notification does not have. There is no way back.
 */
function checkFraming(framing: 'ndjson' | 'binary' | undefined, conn: RpcConnection): void {
  const problem =
    framing === 'binary' && conn.framing === 'ndjson' && !conn.switching
      ? 'binary frames must be asked for in a request of its own, not in a batch or a notification'
      : framing === 'ndjson' && conn.framing === 'binary'
        ? 'this connection already uses binary frames and cannot switch back'
        : null;
  if (problem === null) return;
  throw RpcError.of('INVALID_PARAMS', `invalid params for attach: framing: ${problem}`, {
    issues: [{ path: 'framing', message: problem }],
  });
}
