/**
 * The writer lease. Any number of clients watch; keystrokes come only from the lease holder. Turning
 * interactive mode on takes the lease when it is free (so a ralph-uv client works unchanged); another client
 * asking gets LEASE_HELD naming the holder; the lease frees when its holder turns the mode off or leaves.
 */
import { RpcError, type HandlerTable, type RpcConnection } from '../../protocol/index.js';
import { guarded } from './control.js';
import type { LoopServer } from './server.js';

function leaseHeld(holder: RpcConnection): RpcError {
  return RpcError.of('LEASE_HELD', `the keyboard is held by ${holder.label}`, { holder: holder.label });
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
      if (!runner.state.interactive) return { status: 'ignored', reason: 'not in interactive mode' };
      if (server.writer && server.writer !== conn) throw leaseHeld(server.writer);
      const dropped = runner.writePty(data);
      return dropped === null ? { status: 'forwarded' } : { status: 'ignored', reason: dropped };
    },
  };
}
