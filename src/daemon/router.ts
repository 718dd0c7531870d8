/**
 * The daemon's dispatch: its own methods (answered from the daemon method table through the protocol's
 * table dispatch), per-loop methods with a `task` param (forwarded to that loop's runner), and the hand-over
 * of a whole connection to one runner (`open_loop`) or to git (`git_connect`). Every request passes the caller's gate (authenticated,
 * role allows it) and is audited. It plugs into `serveWith` as a `Dispatch` and a `HandOver`.
 */
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import {
  createJSONRPCErrorResponse,
  createJSONRPCNotification,
  createJSONRPCSuccessResponse,
  type JSONRPCID,
  type JSONRPCResponse,
} from 'json-rpc-2.0';
import { errorMessage } from '../errors.js';
import {
  RpcError,
  errorCodes,
  isMethodName,
  tableDispatch,
  type Dispatch,
  type HandOver,
  type Logger,
  type RpcConnection,
  type TableHandlers,
} from '../protocol/index.js';
import { checkEnvelope } from '../protocol/validate.js';
import type { Peer } from '../transport/stream.js';
import { callerFor, type Caller } from './caller.js';
import { acceptGitConnect, isGitConnectRequest, takeGitConnection } from './git-route.js';
import { dialRunner, Forwarder, type RestrictRunner } from './forward.js';
import type { LoopExecutor, StartedLoop } from './executor.js';
import type { BoxAgents } from './box-agents.js';
import {
  AGENT_INSTALL_METHOD,
  daemonMethods,
  isDaemonMethodName,
  taskName,
  type DaemonMethods,
} from './methods.js';
import { allows, roleFor, type RolesConfig } from './roles.js';
import type { AuditSink, EventJournal, ProofVerifier } from './trust-hooks.js';
import { subscribeEvents } from './subscribe-events.js';

export interface RouterOptions {
  service: string;
  roles: RolesConfig;
  loops: LoopExecutor;
  /** The agent CLIs on the box, and installing a missing one. */
  agents: BoxAgents;
  journal: EventJournal;
  /** Told of every loop the daemon starts, to journal and watch it. */
  onStarted?: (loop: StartedLoop) => void;
  audit: AuditSink;
  verifyProof: ProofVerifier;
  /** The CA bundle of the daemon's own identity: client certificates must chain to it. */
  ca: readonly string[];
  restrict: RestrictRunner;
  version: string;
  /** Whether the Ziti service is bound right now. */
  isBound: () => boolean;
  logger?: Logger;
  /** Check daemon results against the method table (tests turn it on). */
  validateResults?: boolean;
  maxBatch?: number;
}

const HANDOVER = 'daemon.handover';
const DEFAULT_MAX_BATCH = 64;

export class DaemonRouter {
  readonly dispatch: Dispatch;
  readonly handOver: HandOver;
  private readonly callers = new WeakMap<RpcConnection, Caller>();
  private readonly forwarders = new WeakMap<RpcConnection, Forwarder>();
  private readonly daemonDispatch: Dispatch;
  private readonly options: RouterOptions;
  private readonly log: Logger;
  private readonly startedAt = new Date();

  constructor(options: RouterOptions) {
    this.options = options;
    this.log = options.logger ?? (() => undefined);
    this.daemonDispatch = tableDispatch(daemonMethods, this.handlers(), {
      logger: this.log,
      validateResults: options.validateResults ?? false,
    });
    this.dispatch = (message, conn) => this.answer(message, conn);
    this.handOver = {
      asks: (message) => isOpenLoopRequest(message) || isGitConnectRequest(message),
      take: (stream, pending, conn) => this.take(stream, pending, conn),
    };
  }

  /** A new connection: who it is, and the `hello` that tells the client. */
  accept(conn: RpcConnection, peer: Peer | null): Caller {
    const caller = callerFor(peer, this.options.roles);
    this.callers.set(conn, caller);
    conn.once('close', () => {
      const socket = conn.data.get(HANDOVER) as Duplex | undefined;
      socket?.destroy();
    });
    conn.send(
      createJSONRPCNotification('hello', {
        version: this.options.version,
        service: this.options.service,
        nonce: caller.nonce,
        auth: caller.authenticated ? 'none' : 'required',
        identity: caller.identity,
        role: caller.role,
      }),
    );
    return caller;
  }

  private caller(conn: RpcConnection): Caller {
    const caller = this.callers.get(conn);
    if (caller === undefined) throw new Error(`connection ${conn.id} was not accepted by the router`);
    return caller;
  }

  private async answer(
    message: unknown,
    conn: RpcConnection,
  ): Promise<JSONRPCResponse | JSONRPCResponse[] | null> {
    if (!Array.isArray(message)) return this.one(message, conn);
    const max = this.options.maxBatch ?? DEFAULT_MAX_BATCH;
    if (message.length === 0 || message.length > max) {
      const why =
        message.length === 0 ? 'empty batch' : `a batch of ${message.length} messages; at most ${max}`;
      return createJSONRPCErrorResponse(null, errorCodes.INVALID_REQUEST.code, `invalid request: ${why}`);
    }
    const answers = await Promise.all(
      message.map((m) => (handsOver(m) ? Promise.resolve(refuseInBatch(m)) : this.one(m, conn))),
    );
    const sent = answers.filter((a): a is JSONRPCResponse => a !== null);
    return sent.length === 0 ? null : sent;
  }

  private async one(value: unknown, conn: RpcConnection): Promise<JSONRPCResponse | null> {
    const check = checkEnvelope(value);
    if (!check.ok)
      return createJSONRPCErrorResponse(check.id, errorCodes.INVALID_REQUEST.code, check.message);
    const request = check.request;
    const id = request.id ?? null;
    const notify = request.id === undefined;
    const caller = this.caller(conn);
    const method = request.method;
    const task = taskParam(request.params);
    let response: JSONRPCResponse | null;
    try {
      // Without an id there is no answer to hand the connection over after: refused before it opens anything.
      if (handsOver(request) && typeof request.id !== 'string' && typeof request.id !== 'number') {
        throw RpcError.of(
          'INVALID_REQUEST',
          `invalid request: ${method} hands the connection over, so it needs an id (a string or a number)`,
        );
      }
      if (isDaemonMethodName(method)) {
        if (method !== 'authenticate') this.gate(caller, method, daemonMethods);
        response = (await this.daemonDispatch(request, conn)) as JSONRPCResponse | null;
      } else if (isMethodName(method)) {
        this.gate(caller, method);
        const result = await this.forward(conn, caller, method, request.params, notify);
        response = notify ? null : createJSONRPCSuccessResponse(id, result);
      } else {
        throw RpcError.of('METHOD_NOT_FOUND', `method not found: ${JSON.stringify(method)}`);
      }
    } catch (err) {
      response = errorResponse(id, err, this.log);
    }
    const code = response !== null && 'error' in response ? response.error?.code : undefined;
    this.record(caller, method, task, code);
    return notify ? null : response;
  }

  private gate(
    caller: Caller,
    method: string,
    table?: Record<string, { access?: 'read' | 'control' }>,
  ): void {
    if (!caller.authenticated) {
      throw RpcError.of('UNAUTHENTICATED', `${method} needs authentication first: call authenticate`);
    }
    if (!allows(caller.role, method, table)) {
      throw RpcError.of('FORBIDDEN', `role ${caller.role ?? 'none'} may not call ${method}`, {
        role: caller.role,
        method,
      });
    }
  }

  private record(caller: Caller, method: string, task: string | null, code: number | undefined): void {
    try {
      this.options.audit.record({
        identity: caller.identity,
        role: caller.role,
        transport: caller.transport,
        method: method.slice(0, 64),
        task,
        outcome: code === undefined ? 'ok' : 'error',
        ...(code === undefined ? {} : { code }),
      });
    } catch (err) {
      this.log('audit record failed', { error: err });
    }
  }

  private async forward(
    conn: RpcConnection,
    caller: Caller,
    method: string,
    params: unknown,
    notify: boolean,
  ): Promise<unknown> {
    const where = `invalid params for ${method}`;
    if (typeof params !== 'object' || params === null || Array.isArray(params) || !('task' in params)) {
      throw RpcError.of(
        'INVALID_PARAMS',
        `${where}: task: missing (a per-loop method through the daemon names its loop)`,
        {
          issues: [{ path: 'task', message: 'missing' }],
        },
      );
    }
    const { task, ...rest } = params as Record<string, unknown>;
    const name = taskName.safeParse(task);
    if (!name.success) {
      const why = name.error.issues[0]?.message ?? 'invalid';
      throw RpcError.of('INVALID_PARAMS', `${where}: task: ${why}`, {
        issues: [{ path: 'task', message: why }],
      });
    }
    if (method === 'attach') {
      throw RpcError.of(
        'INVALID_PARAMS',
        'attach through the daemon needs open_loop {task} first, then attach on that connection',
      );
    }
    let forwarder = this.forwarders.get(conn);
    if (forwarder === undefined) {
      forwarder = new Forwarder(conn, async (t) => {
        const { socket } = await dialRunner(this.options.loops, t, caller.role, this.options.restrict);
        return socket;
      });
      this.forwarders.set(conn, forwarder);
    }
    return forwarder.call(name.data, method, rest, notify);
  }

  /**
   * After `open_loop`'s answer: the client's bytes go to the runner and back, untouched. After
   * `git_connect`'s: they go to git.
   */
  private take(stream: Duplex, pending: Buffer[], conn: RpcConnection): void {
    if (takeGitConnection(stream, pending, conn, this.log)) return;
    const socket = conn.data.get(HANDOVER) as Duplex | undefined;
    conn.data.delete(HANDOVER);
    if (socket === undefined || socket.destroyed) {
      stream.destroy();
      return;
    }
    const both = (): void => {
      stream.destroy();
      socket.destroy();
    };
    stream.once('close', both);
    socket.once('close', both);
    stream.on('error', both);
    socket.on('error', both);
    for (const chunk of pending) socket.write(chunk);
    stream.pipe(socket);
    socket.pipe(stream);
  }

  private handlers(): TableHandlers<DaemonMethods> {
    const o = this.options;
    return {
      authenticate: (params, conn) => {
        const caller = this.caller(conn);
        if (caller.authenticated && caller.identity !== null && caller.role !== null) {
          return { identity: caller.identity, role: caller.role };
        }
        let identity: string;
        try {
          identity = o.verifyProof({ ...params, service: o.service, nonce: caller.nonce, ca: o.ca }).identity;
        } catch (err) {
          closeSoon(conn, 'authentication failed');
          throw RpcError.of('UNAUTHENTICATED', `authentication failed: ${errorMessage(err)}`);
        }
        const role = roleFor(o.roles, identity);
        caller.identity = identity;
        if (role === null) {
          closeSoon(conn, 'identity has no role');
          throw RpcError.of('FORBIDDEN', `identity ${identity} has no role on this daemon`, {
            role: null,
            method: 'authenticate',
          });
        }
        caller.role = role;
        caller.authenticated = true;
        return { identity, role };
      },
      get_health: () => {
        const now = Date.now();
        return {
          hostname: hostname(),
          version: o.version,
          started_at: this.startedAt.toISOString(),
          uptime_seconds: Math.floor((now - this.startedAt.getTime()) / 1000),
          active_loops: o.loops.activeCount(),
          max_loops: o.loops.maxLoops,
          workspace: o.loops.workspace,
          service: o.service,
          bound: o.isBound(),
          journal_seq: o.journal.lastSeq,
        };
      },
      get_agents: async () => ({ agents: await o.agents.list() }),
      list_loops: async () => {
        const loops = await o.loops.list();
        return { loops, count: loops.length, journal_seq: o.journal.lastSeq };
      },
      start_loop: async (params, conn) => {
        const agent = params.agent ?? 'claude';
        // Refusals come before an agent install, which can take minutes.
        await o.loops.check(params);
        // A loop on Kubernetes runs the agents of its image; only the box's own runners need them here.
        if (o.loops.kind === 'process') {
          await o.agents.ensure(agent, {
            noInstall: params.no_install ?? false,
            onLine: (line) => conn.send(createJSONRPCNotification(AGENT_INSTALL_METHOD, { agent, line })),
          });
        }
        const session = await o.loops.start(params);
        o.onStarted?.(session);
        return {
          loop_id: String(session.id),
          task: session.task,
          status: session.status,
          task_dir: session.taskDir,
          branch: session.branch,
          worktree: session.worktree,
        };
      },
      stop_loop: async ({ task, force }) => {
        const stopped = await o.loops.stop(task, force ?? false);
        return { task: stopped.task, status: stopped.status };
      },
      subscribe_events: ({ since_seq }, conn) => subscribeEvents(o.journal, conn, since_seq ?? 0),
      git_connect: (params, conn) =>
        acceptGitConnect(params, conn, this.caller(conn).role, {
          workspace: o.loops.workspace,
          ownedBranches: () => o.loops.ownedBranches(),
          logger: this.log,
        }),
      open_loop: async ({ task }, conn) => {
        const caller = this.caller(conn);
        const runner = await dialRunner(o.loops, task, caller.role, o.restrict);
        if (conn.closed) {
          runner.socket.destroy();
          throw RpcError.of('CONNECTION_CLOSED', 'connection closed');
        }
        conn.data.set(HANDOVER, runner.socket);
        return { task, loop_id: String(runner.loopId), status: runner.status as never };
      },
    };
  }
}

/** `open_loop` or `git_connect`, as a request or a notification. */
function handsOver(message: unknown): boolean {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return false;
  const method = (message as { method?: unknown }).method;
  return method === 'open_loop' || method === 'git_connect';
}

/** A hand-over takes the whole connection, so it cannot share a batch with other messages. */
function refuseInBatch(message: unknown): JSONRPCResponse | null {
  const m = message as { method: string; id?: unknown };
  if (m.id === undefined) return null;
  const id = typeof m.id === 'string' || typeof m.id === 'number' ? m.id : null;
  return createJSONRPCErrorResponse(
    id,
    errorCodes.INVALID_REQUEST.code,
    `invalid request: ${m.method} hands the connection over and cannot be part of a batch; send it alone`,
  );
}

function isOpenLoopRequest(message: unknown): boolean {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return false;
  const m = message as { method?: unknown; id?: unknown };
  return m.method === 'open_loop' && m.id !== undefined && m.id !== null;
}

function taskParam(params: unknown): string | null {
  if (typeof params !== 'object' || params === null) return null;
  const task = (params as { task?: unknown }).task;
  return typeof task === 'string' && taskName.safeParse(task).success ? task : null;
}

function errorResponse(id: JSONRPCID, err: unknown, log: Logger): JSONRPCResponse {
  if (err instanceof RpcError) return createJSONRPCErrorResponse(id, err.code, err.message, err.data);
  log('request failed', { error: err });
  return createJSONRPCErrorResponse(
    id,
    errorCodes.INTERNAL_ERROR.code,
    `internal error: ${errorMessage(err)}`,
  );
}

/** Closes a connection once the answer being written has gone out. */
function closeSoon(conn: RpcConnection, reason: string): void {
  setImmediate(() => conn.close(reason));
}
