/**
 * Restricted connections: after `restrict_connection`, a connection may call `read` methods only. The check
 * wraps each `control` handler (by the method table's `access`), so a method added later without thought is
 * refused on a restricted connection, never let through.
 */
import { accessOf } from '../../protocol/access.js';
import type { RpcConnection } from '../../protocol/connection.js';
import type { HandlerTable } from '../../protocol/dispatch.js';
import { RpcError } from '../../protocol/errors.js';
import type { LoopServer } from './server.js';

/** Where a connection's restriction lives in `conn.data`; once set it is never removed. */
const RESTRICTED = 'restricted-role';

/** The role a connection was restricted to, or null when it is not restricted. */
export function restrictedRole(conn: RpcConnection): 'observe' | null {
  return conn.data.get(RESTRICTED) === 'observe' ? 'observe' : null;
}

export function forbidden(conn: RpcConnection, method: string): RpcError {
  return RpcError.of(
    'FORBIDDEN',
    `${method} is not allowed: this connection is restricted to the observe role (read-only)`,
    { role: restrictedRole(conn), method },
  );
}

export function restrictHandlers(server: LoopServer): HandlerTable {
  return {
    restrict_connection: ({ role }, conn) => {
      conn.data.set(RESTRICTED, role);
      server.releaseLease(conn, 'connection restricted to observe');
      return { role };
    },
  };
}

type LooseHandler = (params: unknown, conn: RpcConnection) => unknown;

/** The same handlers, each `control` one (or one without `access`) refusing restricted connections. */
export function guardRestricted(handlers: HandlerTable): HandlerTable {
  const loose = handlers as Record<string, LooseHandler | undefined>;
  const out: Record<string, LooseHandler> = {};
  for (const [name, handler] of Object.entries(loose)) {
    if (handler === undefined) continue;
    if (accessOf(name) === 'read') {
      out[name] = handler;
      continue;
    }
    out[name] = (params, conn) => {
      if (restrictedRole(conn) !== null) throw forbidden(conn, name);
      return handler(params, conn);
    };
  }
  return out;
}
