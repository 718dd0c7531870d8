import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RalphError } from '../../src/errors.js';
import { SESSION_STATUSES, isTerminal, type Registry } from '../../src/registry/index.js';
import { localSession, openIn, tempHome, type TempHome } from './helpers.js';

let home: TempHome;
let reg: Registry;
let clock: Date;
beforeEach(() => {
  home = tempHome();
  clock = new Date('2025-03-01T12:00:00.000Z');
  reg = openIn(home, () => clock);
});
afterEach(() => {
  reg.close();
  home.cleanup();
});

const DAY = 24 * 60 * 60 * 1000;

/** One session per status, each a distinct task, created and ended `ageDays` ago. */
function seedEveryStatus(prefix: string, ageDays: number): void {
  const saved = clock;
  clock = new Date(saved.getTime() - ageDays * DAY);
  for (const status of SESSION_STATUSES) reg.create(localSession(`${prefix}-${status}`, { status }));
  clock = saved;
}

describe('prune', () => {
  it('deletes only terminal rows', () => {
    seedEveryStatus('t', 1);
    const removed = reg.prune();
    expect(removed.map((r) => r.status).sort()).toEqual([
      'budget_exceeded',
      'completed',
      'crashed',
      'exhausted',
      'failed',
      'lost',
      'stalled',
      'stopped',
    ]);
    const left = reg.list({ all: true });
    expect(left).toHaveLength(SESSION_STATUSES.length - 8);
    expect(left.every((r) => !isTerminal(r.status))).toBe(true);
  });

  it('honours olderThanMs against when a row ended', () => {
    seedEveryStatus('old', 10);
    seedEveryStatus('new', 1);
    const removed = reg.prune({ olderThanMs: 5 * DAY });
    expect(removed).toHaveLength(8);
    expect(removed.every((r) => r.task.startsWith('old-'))).toBe(true);
    expect(reg.list({ all: true, status: ['completed'] }).map((r) => r.task)).toEqual(['new-completed']);
  });

  it('measures age from endedAt, not from creation', () => {
    clock = new Date(clock.getTime() - 30 * DAY);
    const s = reg.create(localSession('long', { status: 'running' }));
    clock = new Date(clock.getTime() + 29 * DAY);
    reg.update(s.id, { status: 'completed' });
    clock = new Date(clock.getTime() + DAY);
    expect(reg.prune({ olderThanMs: 2 * DAY })).toEqual([]);
    expect(reg.prune({ olderThanMs: DAY / 2 }).map((r) => r.id)).toEqual([s.id]);
  });

  it('limits itself to the given statuses and refuses non-terminal ones', () => {
    seedEveryStatus('t', 1);
    expect(reg.prune({ statuses: ['crashed'] }).map((r) => r.task)).toEqual(['t-crashed']);
    let err: unknown;
    try {
      reg.prune({ statuses: ['completed', 'running'] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RalphError);
    expect((err as RalphError).code).toBe('PRUNE_NON_TERMINAL');
    expect(reg.latest('t-completed')).toBeDefined();
  });

  it('dry run reports without deleting', () => {
    seedEveryStatus('t', 1);
    const would = reg.prune({ dryRun: true });
    expect(would).toHaveLength(8);
    expect(reg.list({ all: true })).toHaveLength(SESSION_STATUSES.length);
    expect(reg.prune()).toEqual(would);
  });

  it('rejects a negative age', () => {
    expect(() => reg.prune({ olderThanMs: -1 })).toThrow(/non-negative/);
  });
});
