/**
 * Per-loop methods called on a daemon connection with a `task` param go to that loop's runner: one runner
 * connection per (daemon connection, task), opened on first use, closed with the daemon connection. Events
 * from the runner come back as they were, with `params.task` added.
 */
import type { Duplex } from 'node:stream';
import { createJSONRPCNotification } from 'json-rpc-2.0';
import { errorMessage } from '../errors.js';
import { RpcClient, RpcError, type RpcConnection } from '../protocol/index.js';
import { EVENT_METHOD } from '../protocol/event-method.js';
import type { Role } from './roles.js';
import type { LoopExecutor } from './executor.js';

/**
 * Sends `restrict_connection {role}` on a fresh runner socket before anything else, and resolves once the
 * runner has agreed; its answer is read off the socket so nothing else of it is consumed.
 */
export type RestrictRunner = (socket: Duplex, role: Role) => Promise<void>;

/** Opens a runner connection for a caller with `role`: restricted first unless the role is `control`. */
export async function dialRunner(
  loops: LoopExecutor,
  task: string,
  role: Role | null,
  restrict: RestrictRunner,
): Promise<{ socket: Duplex; loopId: number; status: string }> {
  const { stream: socket, loopId, status } = await loops.dial(task);
  if (role !== 'control') {
    try {
      await restrict(socket, role ?? 'observe');
    } catch (err) {
      socket.destroy();
      throw RpcError.of(
        'INTERNAL_ERROR',
        `cannot restrict the connection to loop ${task}: ${errorMessage(err)}`,
      );
    }
  }
  return { socket, loopId, status };
}

export class Forwarder {
  private readonly clients = new Map<string, Promise<RpcClient>>();
  private closed = false;

  constructor(
    private readonly conn: RpcConnection,
    private readonly open: (task: string) => Promise<Duplex>,
  ) {
    conn.once('close', () => this.close());
  }

  private client(task: string): Promise<RpcClient> {
    let client = this.clients.get(task);
    if (client === undefined) {
      client = this.open(task).then((socket) => {
        const c = new RpcClient(socket);
        // A restricted socket was left paused after its one answer (see restrictRunnerConnection).
        socket.resume();
        c.on('event', (event) => {
          this.conn.send(createJSONRPCNotification(EVENT_METHOD, { ...event, task }));
        });
        c.on('close', () => {
          if (this.clients.get(task) === client) this.clients.delete(task);
        });
        if (this.closed) c.close();
        return c;
      });
      this.clients.set(task, client);
      client.catch(() => {
        if (this.clients.get(task) === client) this.clients.delete(task);
      });
    }
    return client;
  }

  /** Forwards one request (or, without `id`, a notification) to the runner of `task`. */
  async call(
    task: string,
    method: string,
    params: Record<string, unknown>,
    notify: boolean,
  ): Promise<unknown> {
    const client = await this.client(task);
    if (notify) {
      (client.notify as (m: string, p: unknown) => void)(method, params);
      return null;
    }
    return client.call(method, params);
  }

  close(): void {
    this.closed = true;
    for (const client of this.clients.values())
      void client.then(
        (c) => c.close(),
        () => undefined,
      );
    this.clients.clear();
  }
}

const RESTRICT_TIMEOUT_MS = 5000;

/**
 * The default `RestrictRunner`: one `restrict_connection` request written on the socket, its one-line answer
 * read back, and whatever the runner sent after it put back for the next reader. The socket is left paused;
 * the next reader resumes it once it listens.
 */
export const restrictRunnerConnection: RestrictRunner = (socket, role) =>
  new Promise<void>((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const done = (err?: Error): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf(0x0a);
      if (end === -1) {
        if (buffered.length > 64 * 1024) done(new Error('the runner answered with an overlong line'));
        return;
      }
      socket.pause();
      const rest = buffered.subarray(end + 1);
      if (rest.length > 0) socket.unshift(rest);
      let answer: { result?: unknown; error?: { message?: string } };
      try {
        answer = JSON.parse(buffered.subarray(0, end).toString('utf8')) as typeof answer;
      } catch {
        done(new Error('the runner answered with something that is not JSON'));
        return;
      }
      if (answer.error !== undefined) done(new Error(answer.error.message ?? 'refused'));
      else done();
    };
    const onClose = (): void => done(new Error('the runner closed the connection'));
    const timer = setTimeout(() => done(new Error('no answer')), RESTRICT_TIMEOUT_MS);
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.write(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'restrict_connection', params: { role } }) + '\n',
    );
  });
