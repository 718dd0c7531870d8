import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { clusterLoopState } from '../../src/daemon/kubernetes/status.js';

const job = (status: V1Job['status'] = {}, deadline?: number): V1Job => ({
  metadata: { name: 'ralph-box-1' },
  spec: { template: {}, ...(deadline === undefined ? {} : { activeDeadlineSeconds: deadline }) },
  status,
});
const failed = (reason: string, message = ''): V1Job['status'] => ({
  conditions: [{ type: 'Failed', status: 'True', reason, message }],
});
const pod = (status: V1Pod['status'], memoryLimit?: string): V1Pod => ({
  metadata: { name: 'ralph-box-1-abc' },
  spec: {
    containers: [
      {
        name: 'runner',
        ...(memoryLimit === undefined ? {} : { resources: { limits: { memory: memoryLimit } } }),
      },
    ],
  },
  status,
});
const runner = (state: NonNullable<NonNullable<V1Pod['status']>['containerStatuses']>[number]['state']) => ({
  containerStatuses: [{ name: 'runner', image: 'i', imageID: '', ready: false, restartCount: 0, state }],
});

describe('a loop status from its Job and pod', () => {
  it('is starting until a pod runs the runner, with the reason the cluster gives', () => {
    expect(clusterLoopState(job(), undefined)).toEqual({ status: 'starting', reason: 'waiting for a pod' });
    expect(
      clusterLoopState(
        job(),
        pod({
          phase: 'Pending',
          conditions: [
            { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes' },
          ],
        }),
      ),
    ).toEqual({ status: 'starting', reason: 'Unschedulable: 0/3 nodes' });
    expect(
      clusterLoopState(
        job(),
        pod({
          phase: 'Pending',
          ...runner({ waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "r:1"' } }),
        }),
      ),
    ).toEqual({ status: 'starting', reason: 'ImagePullBackOff: Back-off pulling image "r:1"' });
  });

  it('is running while the runner container runs', () => {
    const running = pod({ phase: 'Running', ...runner({ running: { startedAt: new Date() } }) });
    expect(clusterLoopState(job({ active: 1 }), running)).toEqual({ status: 'running', reason: null });
  });

  it("is the runner's own end when it reported one", () => {
    const ended = pod({
      phase: 'Succeeded',
      ...runner({
        terminated: {
          exitCode: 0,
          reason: 'Completed',
          message: '{"status":"completed","exitReason":"all stories pass","iteration":3}',
        },
      }),
    });
    const complete: V1Job['status'] = { conditions: [{ type: 'Complete', status: 'True' }] };
    expect(clusterLoopState(job(complete), ended)).toEqual({
      status: 'completed',
      reason: 'all stories pass',
    });
    // The pod gone after the end: the Job alone cannot say which end it was.
    expect(clusterLoopState(job(complete), undefined)).toEqual({
      status: 'crashed',
      reason: 'the runner ended without reporting how its loop ended',
    });
  });

  it('is crashed, with the memory limit, when the runner was OOMKilled', () => {
    const oom = pod(
      { phase: 'Failed', ...runner({ terminated: { exitCode: 137, reason: 'OOMKilled' } }) },
      '1Gi',
    );
    expect(clusterLoopState(job(failed('BackoffLimitExceeded')), oom)).toEqual({
      status: 'crashed',
      reason: 'OOMKilled: the runner ran out of memory (limit 1Gi)',
    });
  });

  it('is crashed, with the kubelet message, when the pod was evicted', () => {
    const evicted = pod({
      phase: 'Failed',
      reason: 'Evicted',
      message: 'The node was low on resource: memory.',
    });
    expect(clusterLoopState(job(failed('BackoffLimitExceeded')), evicted)).toEqual({
      status: 'crashed',
      reason: 'evicted: The node was low on resource: memory.',
    });
  });

  it('is budget_exceeded when the Job passed its deadline', () => {
    expect(
      clusterLoopState(job(failed('DeadlineExceeded', 'Job was active longer'), 3660), undefined),
    ).toEqual({
      status: 'budget_exceeded',
      reason: 'the Job ran past its deadline of 3660 s',
    });
  });

  it('is crashed with the exit code when the runner died, even if its message claims an end', () => {
    const died = pod({
      phase: 'Failed',
      ...runner({ terminated: { exitCode: 1, reason: 'Error', message: '{"status":"completed"}' } }),
    });
    expect(clusterLoopState(job(failed('BackoffLimitExceeded')), died)).toEqual({
      status: 'crashed',
      reason: 'the runner exited with code 1',
    });
  });
});
