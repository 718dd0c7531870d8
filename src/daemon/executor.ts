/**
 * Where the daemon runs its loops. `process` runs each as a detached runner on the box (its own systemd unit
 * under systemd); `kubernetes` runs each as a Job on a cluster. The router and the forwarding of per-loop
 * calls see only this interface: listing, starting, stopping, and a byte stream to a loop's runner socket.
 */
import type { Duplex } from 'node:stream';
import type { SessionStatus } from '../registry/index.js';
import type { DaemonParamsOf, LoopSummary } from './methods.js';

/** A loop the daemon just started, as `start_loop` answers it. */
export interface StartedLoop {
  id: number;
  task: string;
  status: SessionStatus;
  taskDir: string;
  branch: string | null;
  worktree: string | null;
}

/** A connection to a loop's runner socket (on the box, or in a pod through the cluster's API server). */
export interface RunnerStream {
  stream: Duplex;
  loopId: number;
  status: string;
}

export interface LoopExecutor {
  readonly kind: 'process' | 'kubernetes';
  /** Task folders and repositories given to `start_loop` resolve inside it. */
  readonly workspace: string;
  readonly maxLoops: number;
  /** Loops not ended, as last seen (no reconciling). */
  activeCount(): number;
  /** Branches live loops work on: pushes must not move them. */
  ownedBranches(): Set<string>;
  /** Every loop (newest per task), brought up to date first. */
  list(): Promise<LoopSummary[]>;
  /** Refuses a start that would be refused anyway, changing nothing. */
  check(params: DaemonParamsOf<'start_loop'>): Promise<void>;
  start(params: DaemonParamsOf<'start_loop'>): Promise<StartedLoop>;
  /** Asks the loop of `task` to stop and waits until it has ended. */
  stop(task: string, force: boolean): Promise<{ task: string; status: SessionStatus }>;
  /** A byte stream to the runner socket of the live loop of `task` (LOOP_NOT_FOUND / LOOP_ENDED otherwise). */
  dial(task: string): Promise<RunnerStream>;
}
