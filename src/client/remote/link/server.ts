/**
 * The link: a per-user process that keeps one Ziti context per identity and one daemon connection per remote
 * open, so that a short command (`ralph status`) asks a remote over a local socket instead of loading the
 * overlay code, logging in, dialling and waiting for a greeting each time (what ssh's ControlMaster does for
 * ssh). It listens on `<runDir>/link/link.sock`: the folder is 0700 and the socket 0600, so only this user
 * (and root) can connect. It serves the link method table (methods.ts) with the protocol's own server, and
 * exits by itself once no client has used it for the idle period, or when its socket is removed or replaced
 * (another link took over, the run directory was cleared). It connects to the configured remotes as it starts.
 */
import { lstatSync } from 'node:fs';
import { createJSONRPCErrorResponse, createJSONRPCNotification } from 'json-rpc-2.0';
import { ensurePrivateDir, type RalphPaths } from '../../../config/paths.js';
import { errorMessage } from '../../../errors.js';
import { tableDispatch, type Dispatch, type TableHandlers } from '../../../protocol/dispatch.js';
import { RpcError, errorCodes } from '../../../protocol/errors.js';
import type { RpcConnection } from '../../../protocol/connection.js';
import { serveWith } from '../../../protocol/serve.js';
import { listenUnix } from '../../../transport/unix.js';
import { ralphVersion } from '../../../version.js';
import { closeZitiContexts } from '../contexts.js';
import { loadRemotes } from '../remotes.js';
import { zitiSessionCacheDir } from '../../status.js';
import { linkMethods } from './methods.js';
import { linkSocketPath } from './paths.js';
import { DaemonPool, failureText } from './pool.js';
import { linkBuild } from './spawn.js';
import { LINK_HELLO_METHOD, type LinkHello } from './wire.js';

export type Logger = (msg: string, ctx?: object) => void;

export interface LinkOptions {
  paths: RalphPaths;
  /** How long with no client and no request before the link exits. */
  idleMs: number;
  log?: Logger;
  /** Clients connected at once; past it a new one gets TOO_MANY_CONNECTIONS and is closed. Default 64. */
  maxClients?: number;
  /** Check every result against the method table (the tests do). */
  validateResults?: boolean;
  /** Connect to every configured remote at start (default true). */
  warm?: boolean;
}

export interface Link {
  socket: string;
  /** Resolves with why the link stopped once it has (idle, asked to, its socket gone, a signal). */
  readonly done: Promise<string>;
  stop(why: string): Promise<void>;
}

const DEFAULT_MAX_CLIENTS = 64;
/** Requests one client may have in flight; past it the link reads nothing more from it until it catches up. */
const MAX_IN_FLIGHT = 16;
/** Answers queued for a client that does not read, past which the link stops reading from it. */
const PAUSE_QUEUED_BYTES = 256 * 1024;
/** Past this much waiting for it, a client that does not read is dropped. */
const MAX_QUEUED_BYTES = 1024 * 1024;

/** Starts a link; throws SOCKET_IN_USE when another one already answers on the socket. */
export async function startLink(options: LinkOptions): Promise<Link> {
  const { paths, idleMs } = options;
  const log: Logger = options.log ?? (() => undefined);
  const socket = linkSocketPath(paths);
  const maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS;
  const startedAt = new Date();
  const hello: LinkHello = { version: ralphVersion(), build: linkBuild(), pid: process.pid };
  ensurePrivateDir(paths.runDir);
  const pool = new DaemonPool({ sessionCacheDir: zitiSessionCacheDir(paths), log });
  const conns = new Set<RpcConnection>();
  let lastUsed = Date.now();
  let stopping: Promise<void> | null = null;
  let finished!: (why: string) => void;
  const done = new Promise<string>((resolve) => (finished = resolve));

  const handlers: TableHandlers<typeof linkMethods> = {
    link_status: () => ({
      pid: process.pid,
      version: hello.version,
      started_at: startedAt.toISOString(),
      socket,
      idle_exit_ms: idleMs,
      clients: conns.size,
      remotes: pool.view(),
    }),
    daemon_call: async ({ remote, method, timeout_ms }) => {
      try {
        const result = await pool.call(remote, method, timeout_ms);
        return { result: result as Record<string, unknown> };
      } catch (err) {
        throw RpcError.of('REMOTE_FAILED', failureText(err), {
          remote: remote.name,
          code: err instanceof RpcError ? err.code : null,
        });
      }
    },
    link_stop: () => {
      // After the answer has gone out.
      setTimeout(() => void stop('stopped by request'), 20).unref();
      return { pid: process.pid };
    },
  };
  const answer = tableDispatch(linkMethods, handlers, {
    logger: log,
    validateResults: options.validateResults ?? false,
    maxBatch: MAX_IN_FLIGHT,
  });
  const dispatch: Dispatch = (message, conn) => {
    lastUsed = Date.now();
    return answer(message, conn);
  };

  const listener = await listenUnix(
    socket,
    (stream, info) => {
      lastUsed = Date.now();
      if (conns.size >= maxClients || stopping !== null) {
        const refusal = createJSONRPCErrorResponse(
          null,
          errorCodes.TOO_MANY_CONNECTIONS.code,
          `the link serves at most ${maxClients} clients at once`,
          { limit: maxClients },
        );
        stream.end(`${JSON.stringify(refusal)}\n`);
        stream.on('error', () => undefined);
        setTimeout(() => stream.destroy(), 1000).unref();
        return;
      }
      const conn = serveWith(stream, dispatch, {
        peer: info.peer,
        logger: log,
        maxInFlight: MAX_IN_FLIGHT,
        pauseQueuedBytes: PAUSE_QUEUED_BYTES,
        maxQueuedBytes: MAX_QUEUED_BYTES,
      });
      conns.add(conn);
      conn.once('close', () => {
        conns.delete(conn);
        lastUsed = Date.now();
      });
      conn.send(createJSONRPCNotification(LINK_HELLO_METHOD, hello));
    },
    { logger: log },
  );
  const inode = lstatSync(socket).ino;
  log(`link ${process.pid} listening on ${socket} (exits after ${idleMs} ms with no client)`);
  // The configured remotes are dialled at once, so that the first command through the link finds them open.
  if (options.warm !== false) {
    try {
      for (const remote of loadRemotes(paths)) pool.warm(remote);
    } catch (err) {
      log(`cannot read the remotes to connect to: ${errorMessage(err)}`);
    }
  }

  const stop = (why: string): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(watch);
      log(`link ${process.pid} stopping: ${why}`);
      // Only our own socket is removed (listenUnix): one that replaced it belongs to another link.
      if (!sameInode(socket, inode)) log(`the socket at ${socket} is no longer this link's`);
      for (const conn of conns) conn.close('link stopped');
      await listener.close().catch((err: unknown) => log(`closing the socket failed: ${errorMessage(err)}`));
      pool.close();
      await closeZitiContexts();
      finished(why);
    })();
    return stopping;
  };

  // Idle, or the socket is gone or another's: checked a few times per idle period, at least once a second.
  const watch = setInterval(
    () => {
      if (!sameInode(socket, inode)) void stop('its socket was removed or replaced');
      else if (conns.size === 0 && Date.now() - lastUsed >= idleMs) void stop(`no client for ${idleMs} ms`);
    },
    Math.max(25, Math.min(1000, Math.floor(idleMs / 4))),
  );
  return { socket, done, stop };
}

function sameInode(path: string, inode: number): boolean {
  try {
    return lstatSync(path).ino === inode;
  } catch {
    return false;
  }
}
