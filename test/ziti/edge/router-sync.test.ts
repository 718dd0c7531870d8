/**
 * A router that has not yet learned a fresh identity, service or policy refuses a dial or bind that needs it
 * ("identity not foud by id", "service not found by id", ...); the request is tried again with growing pauses
 * until the router knows it or the wait is over. Other refusals fail at once.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BindFailedError, DialFailedError } from '../../../src/ziti/edge/errors.js';
import { routerNotSynced, untilRouterKnowsUs } from '../../../src/ziti/edge/router-sync.js';

const behind = () => new DialFailedError('svc', 'router-1', 'identity not foud by id');

describe('waiting for a router to learn a fresh identity', () => {
  const pauses: number[] = [];
  // The clock moves only by the pauses taken, so the bound is exact and nothing sleeps.
  const pause = (ms: number): Promise<void> => {
    pauses.push(ms);
    vi.setSystemTime(Date.now() + ms);
    return Promise.resolve();
  };
  beforeEach(() => {
    pauses.length = 0;
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('tells the router lagging behind from other refusals', () => {
    expect(routerNotSynced(behind())).toBe(true);
    expect(routerNotSynced(new BindFailedError('svc', 'r', 'identity not found by id'))).toBe(true);
    expect(routerNotSynced(new DialFailedError('svc', 'r', 'service svc has no terminators'))).toBe(false);
    expect(routerNotSynced(new DialFailedError('svc', 'r', 'invalid session'))).toBe(false);
    expect(routerNotSynced(new Error('identity not foud by id'))).toBe(false);
  });

  it('also waits for a fresh service and for a fresh policy (v1.7.2 answers)', () => {
    for (const reason of [
      'service not found by id',
      'failed to dial: unable to get service token either by JWT parsing or id lookup',
      'no policies provide access',
    ]) {
      expect(routerNotSynced(new DialFailedError('svc', 'r', reason))).toBe(true);
      expect(routerNotSynced(new BindFailedError('svc', 'r', reason))).toBe(true);
    }
    expect(
      routerNotSynced(new DialFailedError('svc', 'r', 'no access to service, failed dial access check')),
    ).toBe(false);
  });

  it('tries again until the router knows the identity, pausing longer each time', async () => {
    let calls = 0;
    const answer = await untilRouterKnowsUs(
      () => {
        calls += 1;
        return calls <= 3 ? Promise.reject(behind()) : Promise.resolve('bound');
      },
      { waitMs: 10_000, pause },
    );
    expect(answer).toBe('bound');
    expect(calls).toBe(4);
    expect(pauses).toEqual([100, 200, 400]);
  });

  it('gives up with the router refusal once the wait is over', async () => {
    let calls = 0;
    const err = await untilRouterKnowsUs(
      () => {
        calls += 1;
        return Promise.reject(behind());
      },
      { waitMs: 3_000, pause },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DialFailedError);
    expect((err as Error).message).toContain('identity not foud by id');
    expect(pauses).toEqual([100, 200, 400, 800, 1_000]);
    expect(pauses.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(3_000);
    expect(calls).toBe(6);
  });

  it('fails at once on any other refusal, and with a wait of 0', async () => {
    const other = new DialFailedError('svc', 'r', 'service svc has no terminators');
    await expect(untilRouterKnowsUs(() => Promise.reject(other), { waitMs: 10_000, pause })).rejects.toBe(
      other,
    );
    const lag = behind();
    await expect(untilRouterKnowsUs(() => Promise.reject(lag), { waitMs: 0, pause })).rejects.toBe(lag);
    expect(pauses).toEqual([]);
  });

  it('stops waiting when the check finds the identity refused by the controller', async () => {
    const refused = new Error('the controller refused identity doomed');
    let checks = 0;
    const check = (): Promise<void> => {
      checks += 1;
      return checks < 3 ? Promise.resolve() : Promise.reject(refused);
    };
    const err = await untilRouterKnowsUs(() => Promise.reject(behind()), {
      waitMs: 10_000,
      pause,
      check,
    }).catch((e: unknown) => e);
    expect(err).toBe(refused);
    expect(checks).toBe(3);
    expect(pauses).toEqual([100, 200]);
  });
});
