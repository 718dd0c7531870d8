/**
 * A loop's status as its Job and pod tell it. While the pod runs, the runner itself knows better (the daemon
 * asks it); this is what the cluster alone says: before the runner answers, after it is gone, and when the
 * cluster ended it (deadline, memory, eviction). A runner that ends on its own writes its final status to the
 * container's termination message, which Kubernetes keeps in the pod's status.
 */
import type { V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import { ENDED_STATUSES, type LoopStatus } from '../../loop/types.js';
import type { SessionStatus } from '../../registry/index.js';
import { RUNNER_CONTAINER } from './spec.js';

export interface ClusterLoopState {
  status: SessionStatus;
  /** Why, in words, when the cluster has something to say (a pending reason, how it ended). */
  reason: string | null;
}

/** What a runner writes to its termination message when its loop ends. */
export interface TerminationReport {
  status: LoopStatus;
  exitReason: string | null;
  iteration?: number | undefined;
}

/** The runner's termination message, when it is one of ours. */
export function parseTerminationReport(message: string | undefined): TerminationReport | null {
  if (message === undefined || message.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { status, exitReason, iteration } = value as Record<string, unknown>;
  if (typeof status !== 'string' || !ENDED_STATUSES.has(status as LoopStatus)) return null;
  return {
    status: status as LoopStatus,
    exitReason: typeof exitReason === 'string' ? exitReason : null,
    iteration: typeof iteration === 'number' && Number.isSafeInteger(iteration) ? iteration : undefined,
  };
}

function condition(job: V1Job, type: string): { reason?: string; message?: string } | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

function runnerStatus(pod: V1Pod | undefined): V1ContainerStatus | undefined {
  return pod?.status?.containerStatuses?.find((c) => c.name === RUNNER_CONTAINER);
}

const words = (reason: string | undefined, message: string | undefined): string =>
  [reason, message].filter((s) => s !== undefined && s !== '').join(': ');

/** The state of a loop from its Job and its (newest) pod, which may be gone. */
export function clusterLoopState(job: V1Job, pod: V1Pod | undefined): ClusterLoopState {
  const container = runnerStatus(pod);
  const terminated = container?.state?.terminated;

  // The pod's own word on how it ended comes first: the Job's conditions only say that it did.
  if (pod?.status?.reason === 'Evicted') {
    return { status: 'crashed', reason: `evicted: ${pod.status.message ?? 'no message'}` };
  }
  if (terminated !== undefined) {
    const report = parseTerminationReport(terminated.message);
    if (report !== null && terminated.exitCode === 0) {
      return { status: report.status, reason: report.exitReason };
    }
    if (terminated.reason === 'OOMKilled') {
      const limit = pod?.spec?.containers.find((c) => c.name === RUNNER_CONTAINER)?.resources?.limits?.memory;
      return {
        status: 'crashed',
        reason: `OOMKilled: the runner ran out of memory${limit === undefined ? '' : ` (limit ${limit})`}`,
      };
    }
    if (terminated.exitCode !== 0) {
      const why =
        terminated.reason === undefined || terminated.reason === 'Error' ? '' : ` (${terminated.reason})`;
      return { status: 'crashed', reason: `the runner exited with code ${terminated.exitCode}${why}` };
    }
  }

  const deadline = condition(job, 'Failed');
  if (deadline?.reason === 'DeadlineExceeded') {
    const seconds = job.spec?.activeDeadlineSeconds;
    return {
      status: 'budget_exceeded',
      reason: `the Job ran past its deadline${seconds === undefined ? '' : ` of ${seconds} s`}`,
    };
  }
  if (deadline !== undefined) {
    return { status: 'crashed', reason: words(deadline.reason, deadline.message) || 'the Job failed' };
  }
  if (terminated !== undefined || condition(job, 'Complete') !== undefined) {
    return { status: 'crashed', reason: 'the runner ended without reporting how its loop ended' };
  }

  if (pod === undefined) return { status: 'starting', reason: 'waiting for a pod' };
  const phase = pod.status?.phase;
  if (phase === 'Running' && container?.state?.running !== undefined)
    return { status: 'running', reason: null };
  if (phase === 'Failed') {
    return { status: 'crashed', reason: words(pod.status?.reason, pod.status?.message) || 'the pod failed' };
  }
  const waiting = container?.state?.waiting;
  if (waiting !== undefined) return { status: 'starting', reason: words(waiting.reason, waiting.message) };
  const unscheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unscheduled !== undefined) {
    return { status: 'starting', reason: words(unscheduled.reason, unscheduled.message) };
  }
  return { status: 'starting', reason: phase === undefined ? null : `pod ${phase}` };
}
