/**
 * Running the built daemon for tests: `ralph daemon --config` as a child process in a CLI sandbox (its own
 * RALPH_HOME; the sandbox's `tasks` folder is the workspace), and a small line client that speaks to it the
 * way any client would (reads `hello`, sends requests, collects notifications), with raw writes for hostile
 * input. Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { LineDecoder } from '../../src/protocol/framing.js';
import { dialUnix } from '../../src/transport/unix.js';
import { CLI_MAIN } from '../cli/built.js';
import type { CliSandbox } from '../cli/harness.js';
import { waitFor, within } from '../support/wait.js';

export interface DaemonProcess {
  child: ChildProcess;
  socket: string;
  /** Every stderr line so far. */
  log: string[];
  /** Sends `signal` and waits (bounded) for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface DaemonSetup {
  workspace: string;
  configFile: string;
  socket: string;
}

/** Writes a daemon config for the sandbox (workspace = its `tasks` folder) with `extra` fields. */
export function writeDaemonConfig(sandbox: CliSandbox, extra: Record<string, unknown> = {}): DaemonSetup {
  const workspace = join(sandbox.root, 'tasks');
  mkdirSync(workspace, { recursive: true });
  const socket = join(sandbox.paths.runDir, 'daemon.sock');
  const configFile = join(sandbox.root, 'daemon.jsonc');
  const config = {
    identity: join(sandbox.root, 'no-identity.json'),
    service: 'ralph-test',
    workspace,
    maxLoops: 4,
    roles: {},
    socket,
    ...extra,
  };
  writeFileSync(configFile, `// test daemon\n${JSON.stringify(config, null, 2)}\n`);
  return { workspace: realpathSync(workspace), configFile, socket };
}

/** Starts `ralph daemon --config <file> [args]` and waits until it says it is listening. */
export async function startDaemonProcess(
  sandbox: CliSandbox,
  setup: DaemonSetup,
  args: string[] = ['--no-ziti'],
  env: NodeJS.ProcessEnv = {},
): Promise<DaemonProcess> {
  const child = spawn(process.execPath, [CLI_MAIN, 'daemon', '--config', setup.configFile, ...args], {
    cwd: sandbox.root,
    env: { ...sandbox.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  const lines = new LineDecoder({ onLine: (line) => log.push(line) });
  child.stderr.on('data', (chunk: Buffer) => lines.push(chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const daemon: DaemonProcess = {
    child,
    socket: setup.socket,
    log,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return within(exited, `the daemon to exit after ${signal}`, 15_000);
    },
  };
  sandbox.defer(() => daemon.stop('SIGKILL'));
  await waitFor(
    () => log.some((l) => l.includes('daemon listening')) || child.exitCode !== null,
    'the daemon to listen',
    30_000,
  );
  if (child.exitCode !== null) throw new Error(`the daemon exited ${child.exitCode}:\n${log.join('\n')}`);
  return daemon;
}

export interface RpcAnswer {
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** A plain NDJSON client of the daemon: `hello`, requests by id, notifications, raw writes. */
export class LineClient {
  readonly notifications: { method: string; params: unknown }[] = [];
  readonly hello: Promise<Record<string, unknown>>;
  /** Answers with `id: null` (errors not tied to a request). */
  readonly orphans: RpcAnswer[] = [];
  private readonly pending = new Map<number, (answer: RpcAnswer) => void>();
  private nextId = 0;
  private closedFlag = false;
  private readonly decoder: LineDecoder;
  private readonly onData = (chunk: Buffer): void => this.decoder.push(chunk);

  constructor(readonly stream: Duplex) {
    let gotHello: (params: Record<string, unknown>) => void = () => undefined;
    this.hello = within(new Promise((resolve) => (gotHello = resolve)), 'the hello notification', 15_000);
    this.decoder = new LineDecoder({
      maxLineBytes: 8 * 1024 * 1024,
      onLine: (line) => {
        const msg = JSON.parse(line) as { id?: number | null; method?: string; params?: unknown } & RpcAnswer;
        if (msg.method !== undefined) {
          if (msg.method === 'hello') gotHello(msg.params as Record<string, unknown>);
          this.notifications.push({ method: msg.method, params: msg.params });
        } else if (typeof msg.id === 'number') {
          this.pending.get(msg.id)?.(msg);
          this.pending.delete(msg.id);
        } else {
          this.orphans.push(msg);
        }
      },
    });
    stream.on('data', this.onData);
    stream.on('end', () => (this.closedFlag = true));
    stream.on('close', () => (this.closedFlag = true));
  }

  static async unix(path: string): Promise<LineClient> {
    return new LineClient(await dialUnix(path));
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Sends a request and waits (bounded) for its answer. */
  call(method: string, params?: unknown, timeoutMs = 30_000): Promise<RpcAnswer> {
    this.nextId += 1;
    const id = this.nextId;
    const answer = new Promise<RpcAnswer>((resolve) => this.pending.set(id, resolve));
    this.write(
      `${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })}\n`,
    );
    return within(answer, `the answer to ${method}`, timeoutMs);
  }

  /** The result of a call that must succeed. */
  async ok<T = Record<string, unknown>>(method: string, params?: unknown, timeoutMs?: number): Promise<T> {
    const answer = await this.call(method, params, timeoutMs);
    if (answer.error !== undefined) {
      throw new Error(`${method} failed: ${answer.error.code} ${answer.error.message}`);
    }
    return answer.result as T;
  }

  write(data: string | Buffer): void {
    this.stream.write(data);
  }

  /** Stops reading: the stream is someone else's from here on (after `open_loop`). */
  release(): Duplex {
    this.stream.off('data', this.onData);
    return this.stream;
  }

  close(): void {
    this.stream.destroy();
  }
}

/** Creates a service on the shared test network that its servers may bind and its clients dial (e2ee on). */
export async function createDaemonService(
  net: { ziti(args: string[]): Promise<unknown> },
  service: string,
): Promise<void> {
  await net.ziti([
    'edge',
    'create',
    'service',
    service,
    '--encryption',
    'ON',
    '--role-attributes',
    'ralph-services',
  ]);
}
