/**
 * A host whose router has not learnt its service yet keeps asking until its ready bound instead of exiting. The
 * SDK already waits a while (routerSyncWaitMs) inside each bind; a router that lags longer than that (seen on a
 * loaded machine: more than 20 s) cannot be produced on demand, so the context here is a stand-in whose bind
 * gives the router's own refusal, the SDK's BindFailedError, a set number of times.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { isRalphError } from '../../src/errors.js';
import { listenZiti } from '../../src/transport/ziti.js';
import type { ZitiContext } from '../../src/ziti/context.js';
import { BindFailedError } from '../../src/ziti/edge/errors.js';

class StandInServer extends EventEmitter {
  closed = false;
  ready(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function context(refusals: number, reason: string): { ctx: ZitiContext; calls: () => number } {
  let calls = 0;
  const ctx = {
    bind: (service: string) => {
      calls += 1;
      if (calls <= refusals) return Promise.reject(new BindFailedError(service, 'ralph-router', reason));
      return Promise.resolve(new StandInServer());
    },
  };
  return { ctx: ctx as unknown as ZitiContext, calls: () => calls };
}

describe('listenZiti and a router that has not learnt the service yet', () => {
  it('binds again while the router says it does not know the service, then serves', async () => {
    const { ctx, calls } = context(2, 'service not found by id');
    const logged: string[] = [];
    const listener = await listenZiti(ctx, 'svc', () => undefined, { logger: (msg) => logged.push(msg) });
    expect(calls()).toBe(3);
    expect(logged.filter((m) => m.includes('waits for the router'))).toHaveLength(2);
    await listener.close();
  });

  it('gives up with the router refusal once its ready bound has passed', async () => {
    const { ctx, calls } = context(Infinity, 'service not found by id');
    const err = await listenZiti(ctx, 'svc', () => undefined, { readyTimeoutMs: 0 }).catch((e: unknown) => e);
    expect(isRalphError(err, 'LISTEN_FAILED')).toBe(true);
    expect((err as Error).message).toBe(
      'cannot host ziti service svc: binding service "svc" on edge router "ralph-router" failed: service not found by id',
    );
    expect(calls()).toBe(1);
  });

  it('does not retry other refusals', async () => {
    const { ctx, calls } = context(1, 'invalid terminator');
    const err = await listenZiti(ctx, 'svc', () => undefined).catch((e: unknown) => e);
    expect(isRalphError(err, 'LISTEN_FAILED')).toBe(true);
    expect(calls()).toBe(1);
  });
});
