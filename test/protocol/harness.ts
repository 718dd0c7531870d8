/** A real server for protocol tests over a Unix socket or a Ziti service, and a raw peer that speaks bytes. */
import type { Duplex } from 'node:stream';
import { LineDecoder } from '../../src/protocol/framing.js';
import { RpcClient } from '../../src/protocol/client.js';
import { RpcError } from '../../src/protocol/errors.js';
import { serveConnection } from '../../src/protocol/serve.js';
import { attachFramingSwitch } from '../../src/protocol/framing-switch.js';
import type { HandlerTable, RpcConnection, ServeOptions } from '../../src/protocol/connection.js';
import type { StatusSnapshot } from '../../src/protocol/schemas.js';
import type { ByteStream } from '../../src/transport/stream.js';
import { listenTest } from '../support/transports.js';
import type { TransportKind } from '../support/transports.js';

/** A parsed message from the wire; tests poke into it freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = any;

export interface LogEntry {
  msg: string;
  ctx?: object;
}

export interface TestServer {
  /** Where it listens: a socket path, or a Ziti service and terminator. */
  address: string;
  conns: RpcConnection[];
  logs: LogEntry[];
  dial(): Promise<ByteStream>;
  client(): Promise<RpcClient>;
  raw(): Promise<RawPeer>;
  close(): Promise<void>;
}

export async function startServer(
  handlers: HandlerTable,
  options: ServeOptions = {},
  transport: TransportKind = 'unix',
): Promise<TestServer> {
  const conns: RpcConnection[] = [];
  const logs: LogEntry[] = [];
  const cleanups: (() => void)[] = [];
  const listener = await listenTest(transport, (socket, info) => {
    conns.push(
      serveConnection(socket, handlers, {
        label: info.label,
        peer: info.peer,
        logger: (msg, ctx) => logs.push({ msg, ctx }),
        validateResults: true,
        framingSwitch: attachFramingSwitch,
        ...options,
      }),
    );
  });
  return {
    address: listener.address,
    conns,
    logs,
    dial: () => listener.dial(),
    client: async () => {
      const c = new RpcClient(await listener.dial(), { defaultTimeoutMs: 10_000 });
      cleanups.push(() => c.close());
      return c;
    },
    raw: async () => {
      const peer = new RawPeer(await listener.dial());
      cleanups.push(() => peer.socket.destroy());
      return peer;
    },
    close: async () => {
      for (const fn of cleanups) fn();
      await listener.close();
    },
  };
}

/** `startServer` bound to one transport, for a test body declared once per transport. */
export function serverStarter(
  transport: TransportKind,
): (handlers: HandlerTable, options?: ServeOptions) => Promise<TestServer> {
  return (handlers, options = {}) => startServer(handlers, options, transport);
}

/**
 * How a server sees a reader that stopped reading go: dropped by its own queue limit, or (over Ziti, where
 * the edge router takes what the server writes) ended by the reader's own receive bound first.
 */
export const SLOW_READER_GONE =
  /^(slow consumer: \d+ bytes queued|peer closed|connection closed|connection error: .+)$/;

/** Writes raw text and reads parsed NDJSON messages, each wait bounded in time. */
export class RawPeer {
  readonly socket: Duplex;
  private readonly queue: unknown[] = [];
  private waiter: (() => void) | null = null;
  ended = false;
  /** The stream's error, if it failed (a Ziti reader past its receive bound, say). */
  error: Error | null = null;

  constructor(socket: Duplex) {
    this.socket = socket;
    const decoder = new LineDecoder({ onLine: (line) => this.queue.push(JSON.parse(line)) });
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      this.waiter?.();
    });
    socket.on('end', () => {
      this.ended = true;
      this.waiter?.();
    });
    socket.on('error', (err) => {
      this.error = err;
      this.ended = true;
      this.waiter?.();
    });
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** The next message; rejects after `timeoutMs` or when the stream ends with nothing left. */
  async next(timeoutMs = 5000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.ended) throw new Error('stream ended with no message');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.queue.shift() as Msg;
  }

  /** Sends one request line and returns the next message. */
  async ask(text: string): Promise<Msg> {
    this.send(text.endsWith('\n') ? text : text + '\n');
    return this.next();
  }
}

export function sampleStatus(overrides: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    task_name: 'demo',
    task_dir: '/tmp/demo',
    iteration: 1,
    max_iterations: 10,
    current_story: 'US-001',
    agent: 'claude',
    status: 'running',
    interactive_mode: false,
    mode_indicator: 'autonomous',
    started_at: '2026-01-23T10:00:00.000Z',
    updated_at: '2026-01-23T10:00:01.000Z',
    recent_output: ['hello'],
    pid: process.pid,
    paused: false,
    log_end_offset: 5,
    cols: 80,
    rows: 24,
    writer: null,
    stories_total: 3,
    stories_passing: 0,
    exit_reason: null,
    ...overrides,
  };
}

/** Handlers that behave like a small loop, plus a few that misbehave on purpose. */
export function demoHandlers(): HandlerTable {
  let writer: string | null = null;
  return {
    get_status: () => sampleStatus({ writer }),
    stop: () => ({ status: 'stop_requested' }),
    checkpoint: () => {
      throw new Error('disk full');
    },
    inject_prompt: ({ prompt }) => ({ status: 'prompt_injected', prompt }),
    set_interactive_mode: ({ enabled }, conn) => {
      if (enabled && writer !== null && writer !== conn.label) {
        throw RpcError.of('LEASE_HELD', `writer lease held by ${writer}`, { holder: writer });
      }
      writer = enabled ? conn.label : null;
      if (enabled) conn.once('close', () => (writer = null));
      return { interactive_mode: enabled };
    },
    write_pty: (_params, conn) =>
      writer === conn.label
        ? { status: 'forwarded' }
        : { status: 'ignored', reason: 'not in interactive mode' },
    subscribe: ({ events }, conn) => {
      for (const e of events) conn.subscriptions.add(e);
      return { subscribed: [...conn.subscriptions].sort() };
    },
    unsubscribe: ({ events }, conn) => {
      for (const e of events) conn.subscriptions.delete(e);
      return { subscribed: [...conn.subscriptions].sort() };
    },
    add_iterations: () => new Promise(() => undefined),
    // Deliberately wrong result, to prove results are checked under tests.
    resize: ({ cols }) => ({ cols, rows: 0 }),
    get_logs: ({ offset, limit, encoding }) => ({
      content: '',
      offset,
      next_offset: offset,
      end_offset: offset + limit,
      encoding,
    }),
  };
}
