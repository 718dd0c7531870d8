/**
 * Unix domain sockets: a private listener (directory 0700, socket 0600) that clears a stale socket file
 * but never steals a live one, and a dialer that checks who owns the socket and whose failures say what
 * they mean.
 */
import { lstatSync, chmodSync, unlinkSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { dirname } from 'node:path';
import { ExitCode, RalphError } from '../errors.js';
import { assertValidSocketPath, ensurePrivateDir } from '../config/paths.js';
import { assertTrustedSocket } from '../config/private-dir.js';
import type { ByteStream, ConnectionInfo } from './stream.js';

export interface UnixListener {
  path: string;
  /**
   * Stops listening, destroys connections still open, removes the socket file. A socket file that is no longer
   * this listener's (removed, or another process's in its place) is left alone.
   */
  close(): Promise<void>;
}

export interface ListenUnixOptions {
  /** Reports socket errors and stale-socket removal. */
  logger?: (msg: string, ctx?: object) => void;
  /** How long to wait when probing an existing socket file. */
  probeTimeoutMs?: number;
}

export interface DialOptions {
  timeoutMs?: number;
}

const DEFAULT_DIAL_TIMEOUT_MS = 5000;

/** Connects to `path`; resolves with the socket, or rejects with the Node error code (or TIMEOUT). */
function connectRaw(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`timed out after ${timeoutMs} ms`), { code: 'TIMEOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Removes a socket file nobody answers on; throws SOCKET_IN_USE if something does. */
async function clearStaleSocket(path: string, options: ListenUnixOptions): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return;
    throw err;
  }
  if (!isSocket) {
    throw new RalphError('SOCKET_PATH_OCCUPIED', `${path} exists and is not a socket`, {
      exitCode: ExitCode.conflict,
      hint: 'move that file away, or use another task name',
    });
  }
  try {
    const socket = await connectRaw(path, options.probeTimeoutMs ?? 1000);
    socket.destroy();
  } catch (err) {
    const code = codeOf(err);
    if (code === 'ENOENT') return;
    if (code === 'ECONNREFUSED') {
      options.logger?.(`removing stale socket ${path}`);
      unlinkSync(path);
      return;
    }
    if (code !== 'TIMEOUT') throw err;
  }
  throw new RalphError('SOCKET_IN_USE', `another process is already listening on ${path}`, {
    exitCode: ExitCode.conflict,
    hint: 'stop that process first, or use another task name',
  });
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Listens on a private Unix socket at `path`. */
export async function listenUnix(
  path: string,
  onConnection: (socket: ByteStream, info: ConnectionInfo) => void,
  options: ListenUnixOptions = {},
): Promise<UnixListener> {
  assertValidSocketPath(path);
  ensurePrivateDir(dirname(path));
  await clearStaleSocket(path, options);
  const sockets = new Set<Socket>();
  let count = 0;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', (err) => options.logger?.(`socket error on ${path}: ${err.message}`, { error: err }));
    count += 1;
    // Node does not report the peer's credentials (SO_PEERCRED); the socket's mode (0600 in a 0700
    // directory) already limits callers to this user and root.
    const label = `unix#${count}`;
    onConnection(socket, { label, peer: { label, transport: 'unix' } });
  });
  server.on('error', (err) => options.logger?.(`listener error on ${path}: ${err.message}`, { error: err }));
  try {
    await listen(server, path);
  } catch (err) {
    if (codeOf(err) === 'EADDRINUSE') {
      throw new RalphError('SOCKET_IN_USE', `another process is already listening on ${path}`, {
        exitCode: ExitCode.conflict,
        cause: err,
      });
    }
    throw new RalphError('LISTEN_FAILED', `cannot listen on ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  chmodSync(path, 0o600);
  const inode = lstatSync(path).ino;
  return {
    path,
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!isSame(path, inode)) {
          // libuv unlinks the path as a listening socket closes, whatever file is there by then: when another
          // process's socket has taken the path, this one is left open (nobody can reach it any more) and
          // stops holding the process, rather than closed and that socket removed with it.
          server.unref();
          for (const socket of sockets) socket.destroy();
          resolve();
          return;
        }
        server.close(() => {
          try {
            removeIfSame(path, inode);
            resolve();
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** Whether `path` is still the socket this process created. */
function isSame(path: string, inode: number): boolean {
  try {
    return lstatSync(path).ino === inode;
  } catch {
    return false;
  }
}

/** Unlinks `path` if it is still the socket this process created. */
function removeIfSame(path: string, inode: number): void {
  try {
    if (lstatSync(path).ino === inode) unlinkSync(path);
  } catch (err) {
    if (codeOf(err) !== 'ENOENT') throw err;
  }
}

/**
 * Connects to the Unix socket at `path`, after checking that it is a socket of this user (or root) in a
 * directory nobody else can write to: otherwise UNTRUSTED_SOCKET, and not a byte is sent.
 */
export async function dialUnix(path: string, opts: DialOptions = {}): Promise<Socket> {
  assertValidSocketPath(path);
  assertTrustedSocket(path);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  try {
    return await connectRaw(path, timeoutMs);
  } catch (err) {
    throw dialError(path, timeoutMs, err);
  }
}

function dialError(path: string, timeoutMs: number, err: unknown): RalphError {
  const cause = err;
  switch (codeOf(err)) {
    case 'ENOENT':
      return new RalphError('NOT_RUNNING', `not running: no socket at ${path}`, {
        exitCode: ExitCode.notFound,
        cause,
      });
    case 'ECONNREFUSED':
      return new RalphError(
        'SOCKET_REFUSED',
        `connection refused at ${path} — stale socket, its process is gone`,
        {
          exitCode: ExitCode.unavailable,
          hint: 'the process that served it has exited; start it again',
          cause,
        },
      );
    case 'EACCES':
    case 'EPERM':
      return new RalphError('SOCKET_ACCESS_DENIED', `permission denied opening ${path}`, {
        exitCode: ExitCode.unavailable,
        hint: 'the socket belongs to another user',
        cause,
      });
    case 'TIMEOUT':
      return new RalphError('DIAL_TIMEOUT', `no answer from ${path} within ${timeoutMs} ms`, {
        exitCode: ExitCode.timeout,
        cause,
      });
    default:
      return new RalphError('DIAL_FAILED', `cannot connect to ${path}: ${(err as Error).message}`, {
        exitCode: ExitCode.unavailable,
        cause,
      });
  }
}
