/**
 * The writer lease. Any number of clients watch; keystrokes come only from the lease holder. Turning
 * interactive mode on takes the lease when it is free (so a ralph-uv client works unchanged); another client
 * asking gets LEASE_HELD naming the holder; the lease frees when its holder turns the mode off or leaves.
 */
import type { RpcConnection } from '../../protocol/connection.js';
import type { HandlerTable } from '../../protocol/dispatch.js';
import { RpcError } from '../../protocol/errors.js';
import { makeEvent } from '../../protocol/event-method.js';
import { guarded } from './control.js';
import { restrictedRole } from './restrict.js';
import type { LoopServer } from './server.js';

function leaseHeld(holder: RpcConnection): RpcError {
  return RpcError.of('LEASE_HELD', `the keyboard is held by ${holder.name}`, { holder: holder.name });
}

/**
 * Hands keystrokes from `conn` to the agent. Returns null when forwarded, else why they were dropped (as
 * ralph-uv answers: keys from a client without the keyboard are ignored, not an error).
 */
function forwardKeys(server: LoopServer, conn: RpcConnection, data: string | Buffer): string | null {
  if (restrictedRole(conn) !== null) return 'this connection is read-only (observe)';
  if (!server.runner.state.interactive) return 'not in interactive mode';
  if (server.writer && server.writer !== conn) return `the keyboard is held by ${server.writer.name}`;
  return server.runner.writePty(data);
}

export function interactiveHandlers(server: LoopServer): HandlerTable {
  const { runner } = server;
  return {
    set_interactive_mode: ({ enabled }, conn) => {
      if (server.writer && server.writer !== conn) throw leaseHeld(server.writer);
      guarded(() => runner.setInteractive(enabled));
      server.writer = enabled ? conn : null;
      return { interactive_mode: runner.state.interactive };
    },
    write_pty: ({ data }, conn) => {
      const dropped = forwardKeys(server, conn, data);
      return dropped === null ? { status: 'forwarded' } : { status: 'ignored', reason: dropped };
    },
  };
}

/** The reason last reported to a connection for dropping its terminal frames, in `conn.data`. */
const DROPPED = 'input-dropped';

/**
 * Keystrokes in a binary terminal frame: the fast path of `write_pty`, under the same rules. Frames get no
 * answer; a dropped one is reported with an `input_dropped` event, once per reason until a frame gets through.
 */
export function terminalInput(server: LoopServer, data: Buffer, conn: RpcConnection): void {
  const reason = forwardKeys(server, conn, data);
  if (reason === null) {
    conn.data.delete(DROPPED);
    return;
  }
  if (conn.data.get(DROPPED) === reason) return;
  conn.data.set(DROPPED, reason);
  conn.notify(makeEvent('input_dropped', { reason, bytes: data.length }));
}
