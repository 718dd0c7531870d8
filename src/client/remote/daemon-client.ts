/**
 * A connection to a remote daemon over the overlay: one Ziti context per identity file per process, a dial of
 * the remote's service, the daemon's `hello`, `authenticate` when it asks for it, then daemon methods over an
 * `RpcClient`. `openLoop` hands the same connection over to one loop's runner.
 */
import { ExitCode, RalphError, errorMessage, isRalphError } from '../../errors.js';
// The client and its errors only: the protocol's index would load every method's schema as well.
import { RpcClient } from '../../protocol/client.js';
import { RpcError } from '../../protocol/errors.js';
import { dialZiti } from '../../transport/ziti.js';
import type { ZitiContext } from '../../ziti/context.js';
import { zitiContextFor } from './contexts.js';
import { proveIdentity } from '../../daemon/auth.js';
import { INSTALL_TIMEOUT_MS } from '../../daemon/agent-install.js';
import { AGENT_INSTALL_METHOD } from '../../daemon/methods.js';
import type {
  DaemonHealth,
  DaemonHello,
  DaemonRole,
  ListLoopsResult,
  LoopEvent,
  StartLoopParams,
  StartLoopResult,
  SubscribeEventsResult,
} from './daemon-types.js';
import type { Remote } from './remotes.js';

export interface DaemonOpenOptions {
  /** Bound on the whole open: Ziti login (first use of the identity), dial, hello, authenticate. Default 10 s. */
  timeoutMs?: number;
  /** Default bound on each request afterwards; default 10 s. */
  requestTimeoutMs?: number;
  /** Where the controller API session is kept between processes (see session-cache.ts); none by default. */
  sessionCacheDir?: string | undefined;
  /** Called with each step's name and how long it took (ms), for `ralph remote test`. */
  onStep?: (step: DaemonStep, ms: number) => void;
}

export type DaemonStep = 'login' | 'dial' | 'hello' | 'authenticate';

const DEFAULT_TIMEOUT_MS = 10_000;
/** A start may install its agent first: the daemon bounds that install at 10 minutes. */
const START_LOOP_TIMEOUT_MS = INSTALL_TIMEOUT_MS + 60_000;

export { closeZitiContexts, zitiContextFor } from './contexts.js';

export class DaemonClient {
  readonly remote: Remote;
  readonly rpc: RpcClient;
  readonly hello: DaemonHello;
  /** Who the daemon takes this client for, and what it may do. */
  readonly identity: string | null;
  readonly role: DaemonRole | null;
  private handedOver = false;

  private constructor(remote: Remote, rpc: RpcClient, hello: DaemonHello, who: WhoAmI) {
    this.remote = remote;
    this.rpc = rpc;
    this.hello = hello;
    this.identity = who.identity;
    this.role = who.role;
  }

  /** Dials the remote's daemon and completes its greeting; every failure is a one-line RalphError. */
  static async open(remote: Remote, options: DaemonOpenOptions = {}): Promise<DaemonClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const left = (): number => Math.max(1, deadline - Date.now());
    const step = async <T>(name: DaemonStep, work: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const value = await work();
      options.onStep?.(name, performance.now() - started);
      return value;
    };
    let rpc: RpcClient | null = null;
    const attempt = (async () => {
      const ctx = await step('login', () =>
        zitiContextFor(remote.identity, timeoutMs, { sessionCacheDir: options.sessionCacheDir }),
      );
      // A service with no host right now is asked again only while the deadline allows, so that no retry
      // outlives the open (nor keeps the process waiting after it gave up).
      const stream = await step('dial', () =>
        dialZiti(ctx, remote.service, { timeoutMs: left(), dialRetryMs: Math.max(0, left() - 50) }),
      );
      rpc = new RpcClient(stream, { defaultTimeoutMs: options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS });
      const client = rpc;
      const hello = await step('hello', () => waitForHello(client, remote, left()));
      const who = await step('authenticate', () => authenticate(client, ctx, remote, hello, left()));
      return new DaemonClient(remote, client, hello, who);
    })();
    try {
      return await withDeadline(attempt, timeoutMs, remote);
    } catch (err) {
      (rpc as RpcClient | null)?.close();
      // A late success after the deadline must not leave a connection open.
      attempt.then((c) => c.close()).catch(() => undefined);
      throw asDaemonError(err, remote);
    }
  }

  get closed(): boolean {
    return this.rpc.closed;
  }

  getHealth(): Promise<DaemonHealth> {
    return this.call<DaemonHealth>('get_health', {});
  }

  listLoops(timeoutMs?: number): Promise<ListLoopsResult> {
    return this.call<ListLoopsResult>('list_loops', {}, timeoutMs);
  }

  /**
   * Starts a loop; an agent install the daemon runs first reports each line to `onInstallLine`, and the answer
   * may take as long as that install (bounded on the daemon's side).
   */
  async startLoop(
    params: StartLoopParams,
    onInstallLine?: (agent: string, line: string) => void,
  ): Promise<StartLoopResult> {
    const listener = (method: string, p: unknown): void => {
      if (method !== AGENT_INSTALL_METHOD || typeof p !== 'object' || p === null) return;
      const { agent, line } = p as { agent?: unknown; line?: unknown };
      if (typeof agent === 'string' && typeof line === 'string') onInstallLine?.(agent, line);
    };
    this.rpc.on('notification', listener);
    try {
      return await this.call<StartLoopResult>('start_loop', params, START_LOOP_TIMEOUT_MS);
    } catch (err) {
      if (err instanceof RpcError && err.kind === 'AGENT_NOT_FOUND') {
        throw new RalphError('AGENT_MISSING', `remote ${this.remote.name}: ${err.message}`, {
          data: err.data,
          ...(params.no_install === true
            ? { hint: 'leave out --no-install to install it there, or pick an available agent with --agent' }
            : {}),
        });
      }
      throw err;
    } finally {
      this.rpc.off('notification', listener);
    }
  }

  stopLoop(task: string, force = false): Promise<{ task: string; status: string }> {
    return this.call('stop_loop', { task, force });
  }

  /** Journal entries after `sinceSeq` (all kept ones when omitted), then live ones, to `onEvent`. */
  async subscribeEvents(
    onEvent: (event: LoopEvent) => void,
    sinceSeq?: number,
  ): Promise<SubscribeEventsResult> {
    this.rpc.on('notification', (method, params) => {
      if (method === 'loop_event' && typeof params === 'object' && params !== null)
        onEvent(params as LoopEvent);
    });
    return this.call<SubscribeEventsResult>(
      'subscribe_events',
      sinceSeq === undefined ? {} : { since_seq: sinceSeq },
    );
  }

  /**
   * Hands this connection over to the runner of `task`: from the answer on, `rpc` speaks the per-loop protocol
   * with that loop. The daemon client is used up.
   */
  async openLoop(task: string): Promise<{ rpc: RpcClient; loopId: string; status: string }> {
    const result = await this.call<{ task: string; loop_id: string; status: string }>('open_loop', { task });
    this.handedOver = true;
    this.rpc.removeAllListeners('notification');
    return { rpc: this.rpc, loopId: result.loop_id, status: result.status };
  }

  close(): void {
    this.rpc.close();
  }

  private async call<T>(method: string, params: unknown, timeoutMs?: number): Promise<T> {
    if (this.handedOver)
      throw new Error(`this daemon connection was handed over to a loop; ${method} needs a new one`);
    return (await this.rpc.call(method, params, timeoutMs === undefined ? {} : { timeoutMs })) as T;
  }
}

interface WhoAmI {
  identity: string | null;
  role: DaemonRole | null;
}

function waitForHello(rpc: RpcClient, remote: Remote, timeoutMs: number): Promise<DaemonHello> {
  return new Promise((resolvePromise, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      rpc.off('notification', onNotification);
      rpc.off('close', onClose);
    };
    const onNotification = (method: string, params: unknown): void => {
      if (method !== 'hello') return;
      done();
      if (!isHello(params)) return reject(unreachable(remote, 'its greeting is malformed'));
      if (params.service !== remote.service) {
        return reject(unreachable(remote, `it answers as service ${params.service}, not ${remote.service}`));
      }
      resolvePromise(params);
    };
    const onClose = (reason: string): void => {
      done();
      reject(unreachable(remote, `the connection closed before the greeting (${reason})`));
    };
    const timer = setTimeout(() => {
      done();
      reject(unreachable(remote, `no greeting within ${timeoutMs} ms`, ExitCode.timeout));
    }, timeoutMs);
    rpc.on('notification', onNotification);
    rpc.once('close', onClose);
  });
}

async function authenticate(
  rpc: RpcClient,
  ctx: ZitiContext,
  remote: Remote,
  hello: DaemonHello,
  timeoutMs: number,
): Promise<WhoAmI> {
  if (hello.auth === 'none') return { identity: hello.identity, role: hello.role };
  const proof = proveIdentity(ctx.identity, hello.nonce, remote.service);
  try {
    const result = (await rpc.call('authenticate', proof, { timeoutMs })) as Partial<WhoAmI>;
    return { identity: result.identity ?? null, role: result.role ?? null };
  } catch (err) {
    if (err instanceof RpcError && (err.kind === 'UNAUTHENTICATED' || err.kind === 'FORBIDDEN')) {
      throw new RalphError(
        'DAEMON_REFUSED',
        `remote ${remote.name} refused identity ${ctx.identity.name}: ${err.message}`,
        {
          hint:
            err.kind === 'FORBIDDEN'
              ? `give ${ctx.identity.name} a role in the daemon's config (roles)`
              : 'check that the identity belongs to the same Ziti network as the daemon',
          cause: err,
        },
      );
    }
    throw err;
  }
}

function isHello(value: unknown): value is DaemonHello {
  const v = value as Partial<DaemonHello> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.nonce === 'string' &&
    typeof v.service === 'string' &&
    (v.auth === 'required' || v.auth === 'none')
  );
}

function withDeadline<T>(work: Promise<T>, timeoutMs: number, remote: Remote): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(unreachable(remote, `no answer within ${timeoutMs} ms`, ExitCode.timeout)),
      timeoutMs,
    );
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

function unreachable(remote: Remote, why: string, exitCode: number = ExitCode.unavailable): RalphError {
  return new RalphError(
    'DAEMON_UNREACHABLE',
    `cannot reach remote ${remote.name} (${remote.service}): ${why}`,
    {
      exitCode,
    },
  );
}

/** Every failure to open becomes a RalphError that names the remote. */
function asDaemonError(err: unknown, remote: Remote): RalphError {
  if (isRalphError(err, 'DAEMON_UNREACHABLE') || isRalphError(err, 'DAEMON_REFUSED')) return err;
  if (isRalphError(err)) {
    return new RalphError('DAEMON_UNREACHABLE', `remote ${remote.name}: ${err.message}`, {
      exitCode: err.exitCode,
      ...(err.hint === undefined ? {} : { hint: err.hint }),
      cause: err,
    });
  }
  return unreachable(remote, errorMessage(err));
}
