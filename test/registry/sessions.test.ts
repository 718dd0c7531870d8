import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode, RalphError } from '../../src/errors.js';
import type { Registry } from '../../src/registry/index.js';
import { isTerminal, TERMINAL_STATUSES, type SessionStatus } from '../../src/registry/index.js';
import { localSession, openIn, remoteSession, tempHome, type TempHome } from './helpers.js';

let home: TempHome;
let reg: Registry;
let clock: Date;
beforeEach(() => {
  home = tempHome();
  clock = new Date('2025-01-01T00:00:00.000Z');
  reg = openIn(home, () => clock);
});
afterEach(() => {
  reg.close();
  home.cleanup();
});

function tick(ms = 1000): void {
  clock = new Date(clock.getTime() + ms);
}

function caught(fn: () => unknown): RalphError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RalphError) return err;
    throw err;
  }
  throw new Error('expected a RalphError');
}

describe('statuses', () => {
  it('knows exactly eight terminal statuses', () => {
    expect([...TERMINAL_STATUSES].sort()).toEqual([
      'budget_exceeded',
      'completed',
      'crashed',
      'exhausted',
      'failed',
      'lost',
      'stalled',
      'stopped',
    ]);
    expect(isTerminal('waiting')).toBe(false);
    expect(isTerminal('unreachable')).toBe(false);
    expect(isTerminal('paused')).toBe(false);
  });
});

describe('create and get', () => {
  it('fills defaults and round-trips every field', () => {
    const s = reg.create(localSession('alpha', { pid: 4242, pidStartTime: '123456' }));
    expect(s).toMatchObject({
      task: 'alpha',
      location: 'local',
      transport: 'unix',
      remoteName: null,
      identity: null,
      pid: 4242,
      pidStartTime: '123456',
      status: 'starting',
      iteration: 0,
      maxIterations: 10,
      currentStory: null,
      endedAt: null,
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:00.000Z',
    });
    expect(reg.get(s.id)).toEqual(s);
    expect(reg.get(s.id + 1000)).toBeUndefined();
  });

  it('refuses a second active session of the same task with TASK_ACTIVE naming the task and pid', () => {
    const first = reg.create(localSession('alpha', { pid: 4242, status: 'running' }));
    const err = caught(() => reg.create(localSession('alpha', { pid: 5151 })));
    expect(err.code).toBe('TASK_ACTIVE');
    expect(err.exitCode).toBe(ExitCode.conflict);
    expect(err.message).toContain("'alpha'");
    expect(err.message).toContain('4242');
    expect(err.data).toMatchObject({ task: 'alpha', pid: 4242, sessionId: first.id });
    expect(reg.list({ task: 'alpha', all: true })).toHaveLength(1);
  });

  it('allows the same task on different remotes and locally, and again once the old one ended', () => {
    reg.create(localSession('alpha', { status: 'running' }));
    reg.create(remoteSession('alpha', 'box1', { status: 'running' }));
    reg.create(remoteSession('alpha', 'box2', { status: 'running' }));
    expect(caught(() => reg.create(remoteSession('alpha', 'box1'))).code).toBe('TASK_ACTIVE');
    const active = reg.findActive('alpha', 'box1');
    reg.update(active!.id, { status: 'completed' });
    const next = reg.create(remoteSession('alpha', 'box1'));
    expect(reg.findActive('alpha', 'box1')?.id).toBe(next.id);
  });

  it('the partial unique index itself rejects a second active row, whatever the caller checks', () => {
    reg.create(localSession('alpha', { status: 'running' }));
    const other = reg.create(localSession('alpha', { status: 'failed' }));
    const err = caught(() => reg.update(other.id, { status: 'running' }, { force: true }));
    expect(err.code).toBe('TASK_ACTIVE');
    expect(reg.get(other.id)?.status).toBe('failed');
  });

  it("rejects remote name '' and a location/remote mismatch", () => {
    expect(caught(() => reg.create(localSession('a', { remoteName: '' }))).code).toBe('INVALID_SESSION');
    expect(caught(() => reg.create(localSession('b', { remoteName: 'box' }))).code).toBe('INVALID_SESSION');
    const remoteWithoutName = { ...remoteSession('c', 'box'), remoteName: null };
    expect(caught(() => reg.create(remoteWithoutName)).code).toBe('INVALID_SESSION');
    expect(caught(() => reg.create(localSession('d', { status: 'bogus' as SessionStatus }))).code).toBe(
      'INVALID_SESSION',
    );
    expect(reg.list({ all: true })).toEqual([]);
  });

  it('stamps endedAt when created already terminal', () => {
    const s = reg.create(localSession('alpha', { status: 'failed', exitReason: 'agent missing' }));
    expect(s.endedAt).toBe(s.createdAt);
  });
});

describe('update', () => {
  it('patches only the given fields and stamps updatedAt', () => {
    const s = reg.create(localSession('alpha'));
    tick();
    const u = reg.update(s.id, { status: 'running', iteration: 3, currentStory: 'US-002', startedAt: 'x' });
    expect(u).toEqual({
      ...s,
      status: 'running',
      iteration: 3,
      currentStory: 'US-002',
      startedAt: 'x',
      updatedAt: '2025-01-01T00:00:01.000Z',
    });
    tick();
    const n = reg.update(s.id, { currentStory: null });
    expect(n.currentStory).toBeNull();
    expect(n.iteration).toBe(3);
  });

  it('ignores id and createdAt smuggled into a patch', () => {
    const s = reg.create(localSession('alpha'));
    const patch = { id: 999, createdAt: 'never', iteration: 1 } as Parameters<Registry['update']>[1];
    const u = reg.update(s.id, patch);
    expect(u.id).toBe(s.id);
    expect(u.createdAt).toBe(s.createdAt);
  });

  it('stamps endedAt on entering a terminal status, and keeps it across terminal-to-terminal moves', () => {
    const s = reg.create(localSession('alpha', { status: 'running' }));
    tick(5000);
    const done = reg.update(s.id, { status: 'stopping' });
    expect(done.endedAt).toBeNull();
    tick();
    const ended = reg.update(s.id, { status: 'stopped', exitReason: 'stopped by user' });
    expect(ended.endedAt).toBe('2025-01-01T00:00:06.000Z');
    tick();
    expect(reg.update(s.id, { status: 'failed' }).endedAt).toBe('2025-01-01T00:00:06.000Z');
  });

  it('refuses terminal to non-terminal unless forced; a forced revival clears endedAt', () => {
    const s = reg.create(localSession('alpha', { status: 'running' }));
    reg.update(s.id, { status: 'crashed' });
    const err = caught(() => reg.update(s.id, { status: 'running' }));
    expect(err.code).toBe('SESSION_TERMINAL');
    expect(err.message).toContain('crashed');
    expect(reg.get(s.id)?.status).toBe('crashed');
    const revived = reg.update(s.id, { status: 'running' }, { force: true });
    expect(revived.status).toBe('running');
    expect(revived.endedAt).toBeNull();
  });

  it('allows leaving and re-entering unreachable', () => {
    const s = reg.create(remoteSession('alpha', 'box', { status: 'running' }));
    expect(reg.update(s.id, { status: 'unreachable' }).status).toBe('unreachable');
    expect(reg.update(s.id, { status: 'running' }).status).toBe('running');
  });

  it('throws SESSION_NOT_FOUND for an unknown id', () => {
    const err = caught(() => reg.update(77, { iteration: 1 }));
    expect(err.code).toBe('SESSION_NOT_FOUND');
    expect(err.exitCode).toBe(ExitCode.notFound);
  });
});

describe('endIfUnchanged', () => {
  it('ends open rows as read, each with its status and reason, stamping updatedAt and endedAt', () => {
    const a = reg.create(localSession('alpha', { status: 'running', pid: 4321, currentStory: null }));
    const b = reg.create(remoteSession('beta', 'box', { status: 'unreachable' }));
    tick(2000);
    const ended = reg.endIfUnchanged([
      { observed: b, status: 'lost', exitReason: 'gone from box' },
      { observed: a, status: 'crashed', exitReason: 'runner gone' },
    ]);
    const at = '2025-01-01T00:00:02.000Z';
    expect(ended).toEqual([
      { ...b, status: 'lost', exitReason: 'gone from box', updatedAt: at, endedAt: at },
      { ...a, status: 'crashed', exitReason: 'runner gone', updatedAt: at, endedAt: at },
    ]);
    expect([reg.get(b.id), reg.get(a.id)]).toEqual(ended);
  });

  it('leaves alone a row that moved on, even in the same millisecond, and one that already ended', () => {
    const a = reg.create(localSession('alpha', { status: 'running', iteration: 2, currentStory: null }));
    const b = reg.create(localSession('beta', { status: 'running' }));
    const c = reg.create(localSession('gamma', { status: 'running' }));
    // Another process writes in the same millisecond: only a field other than updatedAt tells the rows apart.
    const movedA = reg.update(a.id, { currentStory: 'US-002' });
    expect(movedA.updatedAt).toBe(a.updatedAt);
    const doneB = reg.update(b.id, { status: 'completed', exitReason: 'all stories pass' });
    const ended = reg.endIfUnchanged(
      [a, b, c].map((observed) => ({ observed, status: 'crashed' as const, exitReason: 'runner gone' })),
    );
    expect(ended.map((s) => s.task)).toEqual(['gamma']);
    expect(reg.get(a.id)).toEqual(movedA);
    expect(reg.get(b.id)).toEqual(doneB);
    expect(reg.get(c.id)?.status).toBe('crashed');
  });

  it('compares text exactly, whatever it holds', () => {
    const reason = 'quote " backslash \\ newline \n tab \t emoji 🦀 nul-free';
    const a = reg.create(localSession('alpha', { status: 'running', exitReason: reason, pid: 2 ** 31 + 5 }));
    expect(reg.endIfUnchanged([{ observed: a, status: 'crashed', exitReason: 'x' }])).toHaveLength(1);
    const b = reg.create(localSession('beta', { status: 'running', exitReason: reason }));
    const observed = { ...b, exitReason: `${reason} ` };
    expect(reg.endIfUnchanged([{ observed, status: 'crashed', exitReason: 'x' }])).toEqual([]);
  });

  it('refuses a status that is not terminal, changing nothing', () => {
    const a = reg.create(localSession('alpha', { status: 'running' }));
    const err = caught(() => reg.endIfUnchanged([{ observed: a, status: 'paused', exitReason: 'x' }]));
    expect(err.code).toBe('INVALID_SESSION');
    expect(reg.get(a.id)).toEqual(a);
  });
});

describe('queries', () => {
  function seed(): void {
    reg.create(localSession('alpha', { status: 'completed' }));
    tick();
    reg.create(localSession('alpha', { status: 'running' }));
    tick();
    reg.create(localSession('beta', { status: 'crashed' }));
    tick();
    reg.create(remoteSession('alpha', 'box', { status: 'failed' }));
    tick();
    reg.create(remoteSession('gamma', 'box', { status: 'paused' }));
  }

  it('list returns the newest row per (task, remote) by default', () => {
    seed();
    const rows = reg.list();
    expect(rows.map((r) => [r.task, r.remoteName, r.status])).toEqual([
      ['alpha', null, 'running'],
      ['alpha', 'box', 'failed'],
      ['beta', null, 'crashed'],
      ['gamma', 'box', 'paused'],
    ]);
  });

  it('list with all returns every row newest first', () => {
    seed();
    const rows = reg.list({ all: true });
    expect(rows).toHaveLength(5);
    expect(rows.map((r) => r.id)).toEqual([...rows.map((r) => r.id)].sort((a, b) => b - a));
  });

  it('list filters by task, status, location and remote', () => {
    seed();
    expect(reg.list({ task: 'alpha', all: true })).toHaveLength(3);
    expect(reg.list({ task: 'alpha' }).map((r) => r.status)).toEqual(['running', 'failed']);
    expect(reg.list({ status: ['completed'] })).toEqual([]);
    expect(reg.list({ status: ['completed'], all: true }).map((r) => r.task)).toEqual(['alpha']);
    expect(reg.list({ location: 'remote' }).map((r) => r.task)).toEqual(['alpha', 'gamma']);
    expect(reg.list({ remoteName: 'box', status: ['paused', 'running'] }).map((r) => r.task)).toEqual([
      'gamma',
    ]);
    expect(reg.list({ status: [] })).toHaveLength(4);
  });

  it('latest and findActive look at one (task, remote) pair', () => {
    seed();
    expect(reg.latest('alpha')?.status).toBe('running');
    expect(reg.latest('alpha', 'box')?.status).toBe('failed');
    expect(reg.findActive('alpha')?.status).toBe('running');
    expect(reg.findActive('alpha', 'box')).toBeUndefined();
    expect(reg.findActive('beta')).toBeUndefined();
    expect(reg.latest('nope')).toBeUndefined();
  });
});

describe('transaction', () => {
  it('commits together or not at all', () => {
    const s = reg.create(localSession('alpha'));
    expect(() =>
      reg.transaction(() => {
        reg.update(s.id, { iteration: 5 });
        reg.create(localSession('beta'));
        throw new Error('abort');
      }),
    ).toThrow('abort');
    expect(reg.get(s.id)?.iteration).toBe(0);
    expect(reg.latest('beta')).toBeUndefined();
    const value = reg.transaction(() => reg.update(s.id, { iteration: 6 }).iteration);
    expect(value).toBe(6);
  });
});
