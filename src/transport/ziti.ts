/**
 * OpenZiti services as a transport, over the project's own SDK (src/ziti): a listener that hosts a service
 * and hands each accepted connection over as a byte stream with who dialed, and a dialer. The streams are
 * the same kind the Unix transport yields; the layers above never learn which one they got.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, RalphError, errorMessage } from '../errors.js';
import { ZitiError } from '../ziti/errors.js';
import type { ZitiContext } from '../ziti/context.js';
import type { BindOptions } from '../ziti/context.js';
import type { EdgeConn } from '../ziti/edge/conn.js';
import { routerNotSynced } from '../ziti/edge/router-sync.js';
import type { ByteStream, ConnectionInfo, Peer } from './stream.js';

export interface ListenZitiOptions {
  /** Reports connection errors and bind state changes. */
  logger?: (msg: string, ctx?: object) => void;
  /** Passed to the SDK's bind: terminator identity, cost, precedence, re-bind policy, terminators. */
  bind?: BindOptions;
  /**
   * How long to wait for the first bind to be confirmed by a router (default 60 s: room for the SDK to replace
   * a bind left unconfirmed for its `confirmTimeoutMs`, 20 s, twice).
   */
  readyTimeoutMs?: number;
}

export interface ZitiListener {
  service: string;
  /** Stops hosting the service and destroys connections still open. */
  close(): Promise<void>;
}

export interface DialZitiOptions {
  timeoutMs?: number;
  /** Reach only the host that bound with this terminator identity. */
  terminatorIdentity?: string;
  /** How long to keep trying while the service has no host (the SDK's dialRetryMs; default 2 s). */
  dialRetryMs?: number;
}

/** Who dialed a hosted connection: the router's word when it gives it, else the caller id the dialer sent. */
export function zitiPeer(conn: EdgeConn, label: string): Peer {
  if (conn.dialerIdentityName !== undefined || conn.dialerIdentityId !== undefined) {
    return {
      label,
      transport: 'ziti',
      identity: conn.dialerIdentityName ?? conn.dialerIdentityId,
      identityId: conn.dialerIdentityId,
      attested: true,
    };
  }
  return { label, transport: 'ziti', identity: conn.callerId, attested: false };
}

/** Pause between binds while the router has not learnt the service (each bind already waits in the SDK). */
const BIND_AGAIN_MS = 250;

/** Hosts `service` with `ctx`; resolves once the service is bound on at least one edge router. */
export async function listenZiti(
  ctx: ZitiContext,
  service: string,
  onConnection: (stream: ByteStream, info: ConnectionInfo) => void,
  options: ListenZitiOptions = {},
): Promise<ZitiListener> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const bindBy = Date.now() + readyTimeoutMs;
  let server;
  for (;;) {
    try {
      server = await ctx.bind(service, options.bind);
      break;
    } catch (err) {
      // The SDK waits a while for a router that has not learnt a new service (or its policies) yet; on a
      // loaded machine that can take longer, and a host keeps asking until its own bound rather than exit.
      if (!routerNotSynced(err) || Date.now() >= bindBy) throw listenError(service, err);
      options.logger?.(`ziti bind on ${service} waits for the router: ${errorMessage(err)}`);
      await sleep(Math.max(0, Math.min(BIND_AGAIN_MS, bindBy - Date.now())));
    }
  }
  const conns = new Set<EdgeConn>();
  let count = 0;
  server.on('connection', (conn) => {
    conns.add(conn);
    conn.on('close', () => conns.delete(conn));
    conn.on('error', (err) =>
      options.logger?.(`ziti connection error on ${service}: ${err.message}`, { error: err }),
    );
    count += 1;
    const label = `ziti#${count}`;
    const peer = zitiPeer(conn, label);
    onConnection(conn, { label, peer });
  });
  server.on('error', (err) =>
    options.logger?.(`ziti server error on ${service}: ${err.message}`, { error: err }),
  );
  server.on('state', (state) => options.logger?.(`ziti bind ${state.state} on ${service}`, { ...state }));
  try {
    await server.ready(readyTimeoutMs);
  } catch (err) {
    await server.close();
    throw listenError(service, err);
  }
  return {
    service,
    close: async () => {
      await server.close();
      for (const conn of conns) conn.destroy();
    },
  };
}

function listenError(service: string, err: unknown): RalphError {
  return new RalphError('LISTEN_FAILED', `cannot host ziti service ${service}: ${errorMessage(err)}`, {
    hint: err instanceof ZitiError ? err.hint : undefined,
    cause: err,
  });
}

/** Dials `service` with `ctx`; the connection is a byte stream like a Unix socket's. */
export async function dialZiti(
  ctx: ZitiContext,
  service: string,
  options: DialZitiOptions = {},
): Promise<ByteStream> {
  try {
    return await ctx.dial(service, {
      timeoutMs: options.timeoutMs,
      terminatorIdentity: options.terminatorIdentity,
      ...(options.dialRetryMs === undefined ? {} : { dialRetryMs: options.dialRetryMs }),
    });
  } catch (err) {
    const timedOut = err instanceof ZitiError && /TIMEOUT/.test(err.code);
    throw new RalphError(
      timedOut ? 'DIAL_TIMEOUT' : 'DIAL_FAILED',
      `cannot connect to ziti service ${service}: ${errorMessage(err)}`,
      {
        exitCode: timedOut ? ExitCode.timeout : ExitCode.unavailable,
        hint: err instanceof ZitiError ? err.hint : undefined,
        cause: err,
      },
    );
  }
}
