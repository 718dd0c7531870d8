import { describe, expect, it } from 'vitest';
import { judgeLocal, type LocalObservation } from '../../src/registry/index.js';

const base: LocalObservation = {
  pid: 100,
  alive: true,
  recordedStartTime: '5000',
  currentStartTime: '5000',
  address: '/run/ralph/alpha.sock',
  status: 'running',
  ageMs: 60_000,
  startGraceMs: 30_000,
};

describe('judgeLocal', () => {
  it('a dead pid is a crash, whatever the socket says', () => {
    expect(judgeLocal({ ...base, alive: false, currentStartTime: null, socketAnswers: true })).toEqual({
      kind: 'crashed',
      reason: 'runner process 100 is gone',
    });
  });

  it('a live pid with another start time was reused', () => {
    expect(judgeLocal({ ...base, currentStartTime: '9999' })).toEqual({
      kind: 'crashed',
      reason: 'pid 100 was reused by another process',
    });
  });

  it('asks for a socket probe when the process checks out', () => {
    expect(judgeLocal(base)).toEqual({ kind: 'probe' });
    expect(judgeLocal({ ...base, recordedStartTime: null })).toEqual({ kind: 'probe' });
    expect(judgeLocal({ ...base, currentStartTime: null })).toEqual({ kind: 'probe' });
  });

  it('an answering socket means alive, a refusing one a crash', () => {
    expect(judgeLocal({ ...base, socketAnswers: true })).toEqual({ kind: 'alive' });
    expect(judgeLocal({ ...base, socketAnswers: false })).toEqual({
      kind: 'crashed',
      reason: 'runner socket /run/ralph/alpha.sock refuses connections',
    });
  });

  it('gives a starting session its grace period, and no more', () => {
    const starting = { ...base, status: 'starting' as const, socketAnswers: false };
    expect(judgeLocal({ ...starting, ageMs: 1000 })).toEqual({ kind: 'pending' });
    expect(judgeLocal({ ...starting, ageMs: 30_000 }).kind).toBe('crashed');
    expect(judgeLocal({ ...starting, status: 'running', ageMs: 1000 }).kind).toBe('crashed');
  });

  it('without a pid, the socket alone decides', () => {
    const noPid = { ...base, pid: null, alive: false, recordedStartTime: null, currentStartTime: null };
    expect(judgeLocal(noPid)).toEqual({ kind: 'probe' });
    expect(judgeLocal({ ...noPid, socketAnswers: true })).toEqual({ kind: 'alive' });
    expect(judgeLocal({ ...noPid, status: 'starting', ageMs: 10, socketAnswers: false })).toEqual({
      kind: 'pending',
    });
    expect(judgeLocal({ ...noPid, socketAnswers: false }).kind).toBe('crashed');
  });
});
