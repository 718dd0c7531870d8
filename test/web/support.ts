/**
 * Helpers for the `ralph web` tests: the built CLI's `ralph web` as a child process (its URL read from what it
 * prints), plain HTTP requests that set any header (Host included), and WebSocket clients with chosen
 * Origin and Cookie headers. Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { WebSocket } from 'ws';
import { CLI_MAIN } from '../cli/built.js';
import type { CliSandbox } from '../cli/harness.js';
import { within } from '../support/wait.js';

export interface WebProcess {
  child: ChildProcess;
  pid: number;
  /** The TCP port, or null with --socket. */
  port: number | null;
  token: string;
  /** Everything printed on stdout and stderr so far. */
  output: () => string;
  stop(): Promise<void>;
}

/** Runs `ralph web --port 0 <args>` in the sandbox and waits for the line with its login URL. */
export async function startWeb(sb: CliSandbox, args: string[] = []): Promise<WebProcess> {
  const withPort = args.includes('--socket') || args.includes('--port') ? args : ['--port', '0', ...args];
  const child = spawn(process.execPath, [CLI_MAIN, 'web', ...withPort], {
    cwd: sb.root,
    env: sb.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await within(exited, 'ralph web to exit', 10_000).catch(() => child.kill('SIGKILL'));
  };
  sb.defer(stop);
  const login = await within(
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = (): void => {
        const m = /open: http:\/\/(?:127\.0\.0\.1:(\d+)|localhost)\/\?token=([A-Za-z0-9_-]+)/.exec(text);
        if (m) resolve(m);
      };
      child.stdout.on('data', check);
      void exited.then((code) => reject(new Error(`ralph web exited ${code} before serving:\n${text}`)));
    }),
    'ralph web to print its URL',
    30_000,
  );
  return {
    child,
    pid: child.pid!,
    port: login[1] === undefined ? null : Number(login[1]),
    token: login[2]!,
    output: () => text,
    stop,
  };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Connect to this Unix socket instead of the TCP port. */
  socketPath?: string;
}

/** One HTTP request; the Host header is `127.0.0.1:<port>` unless `headers.Host` says otherwise. */
export function request(port: number | null, options: RequestOptions = {}): Promise<Reply> {
  const headers = { Host: `127.0.0.1:${port ?? 0}`, ...options.headers };
  return within(
    new Promise<Reply>((resolve, reject) => {
      const req = httpRequest(
        {
          ...(options.socketPath ? { socketPath: options.socketPath } : { host: '127.0.0.1', port: port! }),
          method: options.method ?? 'GET',
          path: options.path ?? '/',
          headers,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(options.body);
    }),
    `${options.method ?? 'GET'} ${options.path ?? '/'}`,
    15_000,
  );
}

/** Trades the token for the session cookie; returns the `Cookie` header to send from then on. */
export async function signIn(web: WebProcess, socketPath?: string): Promise<string> {
  const reply = await request(web.port, {
    path: `/?token=${web.token}`,
    ...(socketPath ? { socketPath, headers: { Host: 'localhost' } } : {}),
  });
  if (reply.status !== 303) throw new Error(`sign-in answered ${reply.status}: ${reply.body}`);
  const cookie = reply.headers['set-cookie']?.[0];
  if (!cookie) throw new Error('sign-in set no cookie');
  return cookie.split(';')[0]!;
}

/** The JSON API with the session: GET, or POST with a JSON body and this server's Origin. */
export async function api(
  web: WebProcess,
  cookie: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const reply = await request(web.port, {
    method: body === undefined ? 'GET' : 'POST',
    path,
    headers: {
      Cookie: cookie,
      ...(body === undefined
        ? {}
        : { 'Content-Type': 'application/json', Origin: `http://127.0.0.1:${web.port}` }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: reply.status, json: JSON.parse(reply.body) as Record<string, unknown> };
}

export type SocketOutcome = { opened: WebSocket; messages: Messages } | { refused: number };

/** Opens a WebSocket with the given headers: the open socket, or the HTTP status it was refused with. */
export function openSocket(
  port: number,
  headers: Record<string, string>,
  path = '/ws/fleet',
): Promise<SocketOutcome> {
  return within(
    new Promise<SocketOutcome>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
      // Listening from the start: the server speaks first, in the same read as the handshake's answer.
      const messages = new Messages(ws);
      ws.once('open', () => resolve({ opened: ws, messages }));
      ws.once('unexpected-response', (_req, res) => {
        resolve({ refused: res.statusCode ?? 0 });
        res.resume();
        ws.on('error', () => undefined); // the aborted handshake reports itself; it is expected here
        ws.terminate();
      });
      ws.once('error', reject);
    }),
    'a WebSocket handshake',
    15_000,
  );
}

/** Collects what a socket receives: text messages as JSON, binary ones as text, to wait for what matches. */
export class Messages {
  readonly all: Record<string, unknown>[] = [];
  bytes = '';

  constructor(ws: WebSocket) {
    ws.on('message', (data: unknown, isBinary: boolean) => {
      const text = (data as Buffer).toString('utf8');
      if (isBinary) this.bytes += text;
      else this.all.push(JSON.parse(text) as Record<string, unknown>);
    });
  }

  async waitFor(
    check: (m: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs = 20_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.all.find(check);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.all.slice(-3))}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
