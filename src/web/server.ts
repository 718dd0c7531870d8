/**
 * `ralph web`'s server: HTTP and WebSocket on 127.0.0.1 (or a private Unix socket), nowhere else.
 *
 * Every request is checked in this order: the Host header (DNS rebinding), then the one-time token when the
 * URL carries one (`/?token=…` sets the session cookie and redirects to `/`), then the session cookie. Only
 * then are the page, its assets and the API served. WebSocket upgrades are checked the same way, and their
 * Origin must be this server. No response carries a CORS header; OPTIONS is refused.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { Fleet, type FleetOptions } from '../client/fleet/index.js';
import { ExitCode, RalphError, errorMessage } from '../errors.js';
import { listenUnix, type UnixListener } from '../transport/unix.js';
import { handleApi } from './api.js';
import { defaultAssetsDir, loadAssets, type Asset } from './assets.js';
import { WebAuth } from './auth.js';
import { FleetPush } from './fleet-push.js';
import { RequestGuard, type Refusal } from './guard.js';
import { HttpError, isJson, send, sendError } from './http.js';
import { unauthorizedPage } from './pages.js';
import { bridgeTerminal, parseFrom } from './terminal-bridge.js';
import type { AttachFrom } from '../client/attach.js';

/** Bound on open WebSocket connections. */
export const MAX_SOCKETS = 32;

export interface WebServerOptions {
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. Ignored with `socketPath`. */
  port?: number;
  /** Serve on this Unix socket instead of TCP. */
  socketPath?: string;
  /** Observe only: every control request and keystroke is refused. */
  readOnly?: boolean;
  fleet?: FleetOptions;
  /** Where the page's built files are; default dist/web. */
  assetsDir?: string;
  /** Reports errors while serving (the server keeps serving). */
  logger?: (msg: string) => void;
  now?: () => number;
}

export interface WebServer {
  /** `http://127.0.0.1:<port>/` (with a socket: `http://localhost/`, through whatever forwards to it). */
  url: string;
  /** The URL with the one-time token: the one to open. */
  loginUrl: string;
  port: number | null;
  socketPath: string | null;
  readOnly: boolean;
  close(): Promise<void>;
}

interface Context {
  fleet: Fleet;
  auth: WebAuth;
  guard: RequestGuard;
  assets: Map<string, Asset>;
  readOnly: boolean;
  logger: (msg: string) => void;
}

export async function startWebServer(options: WebServerOptions = {}): Promise<WebServer> {
  const readOnly = options.readOnly ?? false;
  const logger = options.logger ?? (() => undefined);
  const http = createServer();
  http.maxHeadersCount = 100;
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;
  // Set once the fleet has started; until then every request is answered 503.
  let ctx: Context | null = null;
  let push: FleetPush | null = null;
  const terminals = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const answer = ctx ? handle(ctx, req, res) : Promise.reject(starting);
    void answer.catch((err: unknown) => {
      const httpError =
        err instanceof HttpError ? err : new HttpError(500, 'INTERNAL_ERROR', errorMessage(err));
      if (!(err instanceof HttpError))
        logger(`request ${req.method} ${req.url} failed: ${errorMessage(err)}`);
      if (!res.headersSent)
        sendError(res, httpError, httpError.status === 413 ? { Connection: 'close' } : {});
      else res.destroy();
    });
  });
  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (!ctx || !push)
      return refuseUpgrade(socket, { status: 503, code: 'STARTING', message: starting.message });
    const refusal = checkUpgrade(ctx, req) ?? (push.size + terminals.size >= MAX_SOCKETS ? tooMany : null);
    if (refusal) return refuseUpgrade(socket, refusal);
    const route = routeUpgrade(ctx, req);
    if ('status' in route) return refuseUpgrade(socket, route);
    const pages = push;
    const bridge = { readOnly, paths: ctx.fleet.paths };
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (route.kind === 'fleet') return pages.add(ws);
      terminals.add(ws);
      ws.once('close', () => terminals.delete(ws));
      void bridgeTerminal(ws, { ...bridge, address: route.address, from: route.from });
    });
  });
  let unix: UnixListener | null = null;
  let port: number | null = null;
  if (options.socketPath !== undefined) {
    unix = await listenUnix(options.socketPath, (socket) => http.emit('connection', socket));
  } else {
    port = await listenLoopback(http, options.port ?? 0);
  }
  const fleet = new Fleet(options.fleet);
  const stopListening = async (): Promise<void> => {
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await unix?.close();
  };
  try {
    await fleet.start();
  } catch (err) {
    fleet.close();
    await stopListening();
    throw err;
  }
  ctx = {
    fleet,
    auth: new WebAuth(options.now),
    guard: new RequestGuard({ port }),
    assets: loadAssets(options.assetsDir ?? defaultAssetsDir()),
    readOnly,
    logger,
  };
  push = new FleetPush(fleet, readOnly);
  const base = port === null ? 'http://localhost/' : `http://127.0.0.1:${port}/`;
  const pages = push;
  return {
    url: base,
    loginUrl: `${base}?token=${ctx.auth.token}`,
    port,
    socketPath: unix?.path ?? null,
    readOnly,
    close: async () => {
      pages.close();
      for (const ws of terminals) ws.terminate();
      wss.close();
      fleet.close();
      await stopListening();
    },
  };
}

const starting = new HttpError(503, 'STARTING', 'the server is still starting');
const tooMany: Refusal = { status: 503, code: 'TOO_MANY_SOCKETS', message: 'too many open pages' };

function listenLoopback(http: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why = err.code === 'EADDRINUSE' ? `port ${port} is in use` : err.message;
      reject(
        new RalphError('LISTEN_FAILED', `cannot listen on 127.0.0.1:${port}: ${why}`, {
          exitCode: err.code === 'EADDRINUSE' ? ExitCode.conflict : ExitCode.failure,
          hint: err.code === 'EADDRINUSE' ? 'pick another --port, or --port 0 for a free one' : undefined,
          cause: err,
        }),
      );
    };
    http.once('error', onError);
    // The loopback address, written out: never a wildcard, never a name that might resolve elsewhere.
    http.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      http.off('error', onError);
      const address = http.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

async function handle(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const hostRefusal = ctx.guard.checkHost(req);
  if (hostRefusal) throw refusalError(hostRefusal);
  const method = req.method ?? 'GET';
  // No CORS: a preflight gets no Access-Control-* header, so the browser never sends the request.
  if (method === 'OPTIONS') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'OPTIONS is not served');
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const signedIn = ctx.auth.isSession(ctx.guard.sessionCookie(req));
  const token = url.searchParams.get('token');
  if (url.pathname === '/' && token !== null && !signedIn) return exchangeToken(ctx, res, token);
  if (!signedIn) {
    if (url.pathname === '/' && method === 'GET') {
      return send(res, 401, unauthorizedPage(), 'text/html; charset=utf-8');
    }
    throw new HttpError(
      401,
      'UNAUTHENTICATED',
      'open the URL ralph web printed (it carries a one-time token)',
    );
  }
  if (method !== 'GET' && method !== 'HEAD') {
    const originRefusal = ctx.guard.checkOrigin(req, false);
    if (originRefusal) throw refusalError(originRefusal);
    // Only the page's scripts send JSON; a plain form on another site cannot.
    if (!isJson(req)) throw new HttpError(415, 'BAD_CONTENT_TYPE', 'the body must be application/json');
  }
  if (url.pathname.startsWith('/api/')) return handleApi(ctx, req, res, url.pathname);
  if (method !== 'GET') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use GET');
  if (url.pathname === '/') {
    // Signed in and back on the token URL (the printed link clicked again): drop the token from the address.
    if (token !== null) return redirectHome(res);
    return serveAsset(ctx, res, '/assets/index.html');
  }
  return serveAsset(ctx, res, url.pathname);
}

function exchangeToken(ctx: Context, res: ServerResponse, token: string): void {
  const outcome = ctx.auth.exchange(token);
  switch (outcome.kind) {
    case 'accepted':
      return redirectHome(res, { 'Set-Cookie': ctx.guard.sessionSetCookie(outcome.session) });
    case 'used':
      throw new HttpError(
        403,
        'TOKEN_USED',
        'this token has been used already; restart ralph web for a new one',
      );
    case 'wrong':
      throw new HttpError(401, 'TOKEN_WRONG', 'wrong token');
    case 'limited':
      return sendError(
        res,
        new HttpError(429, 'TOO_MANY_ATTEMPTS', 'too many wrong tokens; try again later'),
        {
          'Retry-After': String(outcome.retryAfterS),
        },
      );
  }
}

function redirectHome(res: ServerResponse, headers: Record<string, string> = {}): void {
  send(res, 303, '', 'text/plain; charset=utf-8', { Location: '/', ...headers });
}

function serveAsset(ctx: Context, res: ServerResponse, path: string): void {
  const asset = ctx.assets.get(path);
  if (!asset) throw new HttpError(404, 'NOT_FOUND', `no such file: ${path}`);
  send(res, 200, asset.body, asset.type);
}

function checkUpgrade(ctx: Context, req: IncomingMessage): Refusal | null {
  const host = ctx.guard.checkHost(req);
  if (host) return host;
  const origin = ctx.guard.checkOrigin(req, true);
  if (origin) return origin;
  if (!ctx.auth.isSession(ctx.guard.sessionCookie(req))) {
    return { status: 401, code: 'UNAUTHENTICATED', message: 'no session' };
  }
  return null;
}

type Route = { kind: 'fleet' } | { kind: 'terminal'; address: string; from: AttachFrom };

/** Which socket an upgrade asks for: the fleet, or one live loop's terminal. */
function routeUpgrade(ctx: Context, req: IncomingMessage): Route | Refusal {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname === '/ws/fleet') return { kind: 'fleet' };
  const m = /^\/ws\/loops\/(\d{1,15})\/terminal$/.exec(url.pathname);
  if (!m) return { status: 404, code: 'NOT_FOUND', message: `no socket at ${url.pathname}` };
  const row = ctx.fleet.rows().find((r) => r.session.id === Number(m[1]));
  if (!row) return { status: 404, code: 'NO_SUCH_LOOP', message: `no loop with id ${m[1]}` };
  const from = parseFrom(url.searchParams.get('from'));
  if (from === null)
    return { status: 400, code: 'BAD_PARAMS', message: 'from must be an offset, start, iteration or end' };
  return { kind: 'terminal', address: `${row.location}:${row.task}`, from };
}

function refuseUpgrade(socket: Socket, refusal: Refusal): void {
  const body = JSON.stringify({ error: { code: refusal.code, message: refusal.message } });
  socket.end(
    `HTTP/1.1 ${refusal.status} ${refusal.code}\r\nConnection: close\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function refusalError(refusal: Refusal): HttpError {
  return new HttpError(refusal.status, refusal.code, refusal.message);
}
