/**
 * The daemon: one Ziti service (bound with re-bind forever) and a local Unix socket in a private folder,
 * both served by the same router over the protocol's `serveWith`. It opens no TCP or UDP port of its own.
 * Closing it closes the listeners and the connections; loops keep running.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePrivateDir, ralphPaths } from '../config/paths.js';
import { errorMessage } from '../errors.js';
import { serveWith, type Logger, type RpcConnection } from '../protocol/index.js';
import type { ByteStream, ConnectionInfo } from '../transport/stream.js';
import { listenUnix, type UnixListener } from '../transport/unix.js';
import { listenZiti, type ZitiListener } from '../transport/ziti.js';
import type { BindOptions } from '../ziti/context.js';
import { ZitiContext } from '../ziti/context.js';
import type { DaemonConfig } from './config.js';
import { restrictRunnerConnection, type RestrictRunner } from './forward.js';
import type { LoopExecutor, StartedLoop } from './executor.js';
import { LoopManager } from './loops.js';
import { DaemonRouter } from './router.js';
import { LoopWatcher } from './watch.js';
import { AuditLog } from './audit.js';
import { BoxAgents } from './box-agents.js';
import { verifyProofRequest } from './auth.js';
import { Journal } from './journal.js';
import type { AuditSink, EventJournal, ProofVerifier } from './trust-hooks.js';
import type { RalphPaths } from '../config/paths.js';

export interface DaemonOptions {
  paths?: RalphPaths;
  logger?: Logger;
  /** Serve the Ziti service (default true); false serves the local socket only. */
  ziti?: boolean;
  /** An existing context for the daemon's identity (default: one loaded from `config.identity`). */
  zitiContext?: ZitiContext;
  /** Extra bind options (a terminator identity, for tests sharing a service); re-bind is always forever. */
  bind?: BindOptions;
  journal?: EventJournal;
  audit?: AuditSink;
  verifyProof?: ProofVerifier;
  restrict?: RestrictRunner;
  /** Check daemon results against the method table (tests turn it on). */
  validateResults?: boolean;
  maxLineBytes?: number;
  env?: NodeJS.ProcessEnv;
}

/** What the daemon found of its loops when it started, by task name. */
export interface AdoptSummary {
  alive: string[];
  ended: string[];
  lost: string[];
  /** Kubernetes only: labelled Jobs of this daemon it has no record of. */
  orphans: string[];
}

export interface Daemon {
  readonly socketPath: string;
  readonly adopted: AdoptSummary;
  readonly router: DaemonRouter;
  /** Whether the Ziti service is bound now. */
  readonly bound: boolean;
  /** Stops listening and closes every connection; runners are left running. */
  close(): Promise<void>;
}

/** Starts the daemon: adopts the box's loops, then listens. */
export async function startDaemon(config: DaemonConfig, options: DaemonOptions = {}): Promise<Daemon> {
  const log = options.logger ?? (() => undefined);
  const agents = new BoxAgents({
    prefix: join((options.paths ?? ralphPaths()).dataDir, 'agents'),
    env: options.env ?? process.env,
  });
  const ownJournal = options.journal === undefined ? Journal.open(config.journal) : null;
  const journal: EventJournal = options.journal ?? ownJournal!;
  const ownAudit =
    options.audit === undefined ? AuditLog.open(config.audit, { onWarning: (msg) => log(msg) }) : null;
  const audit: AuditSink = options.audit ?? ownAudit!;
  const closeTrust = async (): Promise<void> => {
    ownJournal?.close();
    await ownAudit?.close();
  };
  let loops: LoopExecutor;
  let adopted: AdoptSummary;
  let closeLoops: () => Promise<void>;
  let onStarted: ((loop: StartedLoop) => void) | undefined;
  try {
    const executor = config.executor ?? { kind: 'process' };
    if (executor.kind === 'kubernetes') {
      const { KubernetesExecutor } = await import('./kubernetes/executor.js');
      const { loadKubeConfig } = await import('./kubernetes/jobs.js');
      const k8s = new KubernetesExecutor({
        workspace: config.workspace,
        maxLoops: config.maxLoops,
        daemon: config.service,
        config: executor,
        kubeConfig: loadKubeConfig(executor.kubeconfig),
        storeFile: executor.store,
        journal,
        logger: log,
      });
      try {
        const report = await k8s.adopt();
        adopted = { alive: report.adopted, ended: report.ended, lost: report.lost, orphans: report.orphans };
      } catch (err) {
        await k8s.close();
        throw err;
      }
      loops = k8s;
      closeLoops = () => k8s.close();
    } else {
      const processLoops = new LoopManager({
        workspace: config.workspace,
        maxLoops: config.maxLoops,
        ...(options.paths === undefined ? {} : { paths: options.paths }),
        ...(options.env === undefined ? {} : { env: options.env }),
        agentPath: agents.env.PATH,
      });
      const report = await processLoops.adopt();
      adopted = {
        alive: report.alive.map((s) => s.task),
        ended: report.ended.map((s) => s.task),
        lost: report.lost.map((s) => s.task),
        orphans: [],
      };
      const watcher = new LoopWatcher(processLoops, journal, log);
      for (const session of report.lost) watcher.lost(session);
      await watcher.start();
      loops = processLoops;
      onStarted = (loop) => {
        const session = processLoops.session(loop.id);
        if (session !== undefined) watcher.track(session);
      };
      closeLoops = () => {
        watcher.close();
        return Promise.resolve();
      };
    }
  } catch (err) {
    await closeTrust();
    throw err;
  }
  log('adopted loops', { ...adopted });
  const useZiti = options.ziti ?? true;
  let ctx: ZitiContext | null = null;
  let ownContext = false;
  if (useZiti) {
    ctx = options.zitiContext ?? null;
    if (ctx === null) {
      ctx = await ZitiContext.fromIdentityFile(config.identity);
      ownContext = true;
    }
  }
  let bound = false;
  const router = new DaemonRouter({
    service: config.service,
    roles: config.roles,
    loops,
    agents,
    journal,
    ...(onStarted === undefined ? {} : { onStarted }),
    audit,
    verifyProof: options.verifyProof ?? verifyProofRequest,
    ca: ctx?.identity.ca ?? [],
    restrict: options.restrict ?? restrictRunnerConnection,
    version: packageVersion(),
    isBound: () => bound,
    logger: log,
    validateResults: options.validateResults ?? false,
  });
  const conns = new Set<RpcConnection>();
  const onConnection = (stream: ByteStream, info: ConnectionInfo): void => {
    const conn = serveWith(stream, router.dispatch, {
      peer: info.peer,
      logger: log,
      handOver: router.handOver,
      ...(options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes }),
    });
    conns.add(conn);
    conn.once('close', () => conns.delete(conn));
    try {
      router.accept(conn, info.peer);
    } catch (err) {
      log('cannot accept connection', { error: errorMessage(err) });
      stream.destroy();
    }
  };
  let unix: UnixListener;
  try {
    ensurePrivateDir(dirname(config.socket));
    unix = await listenUnix(config.socket, onConnection, { logger: log });
  } catch (err) {
    await closeLoops();
    await closeTrust();
    if (ownContext) await ctx?.close();
    throw err;
  }
  let ziti: ZitiListener | null = null;
  if (ctx !== null) {
    try {
      ziti = await listenZiti(ctx, config.service, onConnection, {
        logger: (msg, data) => {
          const state = (data as { state?: unknown } | undefined)?.state;
          if (state === 'bound' || state === 'bound-again') bound = true;
          else if (state === 'rebinding') bound = false;
          log(msg, data);
        },
        bind: {
          ...(config.terminator === null ? {} : { terminatorIdentity: config.terminator }),
          ...options.bind,
          rebind: { forever: true },
        },
      });
      bound = true;
    } catch (err) {
      await closeLoops();
      await unix.close();
      await closeTrust();
      if (ownContext) await ctx.close();
      throw err;
    }
  }
  let closing: Promise<void> | null = null;
  return {
    socketPath: unix.path,
    adopted,
    router,
    get bound() {
      return bound;
    },
    close: () => {
      closing ??= (async () => {
        bound = false;
        await closeLoops();
        await Promise.allSettled([unix.close(), ziti?.close()]);
        for (const conn of conns) conn.close('daemon shutting down');
        await closeTrust();
        if (ownContext && ctx !== null) await ctx.close();
      })();
      return closing;
    },
  };
}

/** This package's version, read from its package.json. */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i += 1) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (typeof pkg.version === 'string') return pkg.version;
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}
