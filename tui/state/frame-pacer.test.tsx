import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FramePacer } from './frame-pacer.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A pacer of 500 ms, and the list its updates write what they applied to, in order. */
function recording(): { pacer: FramePacer; applied: string[] } {
  return { pacer: new FramePacer(500), applied: [] };
}

describe('FramePacer', () => {
  it('applies the first update on the next turn, without waiting for an interval', () => {
    const { pacer, applied } = recording();
    pacer.schedule('rows', () => applied.push('rows 1'));
    expect(applied).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(applied).toEqual(['rows 1']);
  });

  it('applies what arrives within one interval together, once, the newest of each kind', () => {
    const { pacer, applied } = recording();
    pacer.schedule('rows', () => applied.push('rows 1'));
    vi.advanceTimersByTime(0);
    applied.length = 0;
    vi.advanceTimersByTime(100);
    pacer.schedule('rows', () => applied.push('rows 2'));
    vi.advanceTimersByTime(100);
    pacer.schedule('detail', () => applied.push('detail 1'));
    vi.advanceTimersByTime(100);
    pacer.schedule('rows', () => applied.push('rows 3'));
    vi.advanceTimersByTime(199);
    expect(applied).toEqual([]);
    vi.advanceTimersByTime(1);
    // Kinds keep the order they first arrived in; the rows are the last ones sent.
    expect(applied).toEqual(['rows 3', 'detail 1']);
  });

  it('applies an update at once again when the last frame is an interval old', () => {
    const { pacer, applied } = recording();
    pacer.schedule('rows', () => applied.push('rows 1'));
    vi.advanceTimersByTime(700);
    pacer.schedule('rows', () => applied.push('rows 2'));
    vi.advanceTimersByTime(0);
    expect(applied).toEqual(['rows 1', 'rows 2']);
  });

  it('flush applies what is pending now; close drops it and ignores what comes after', () => {
    const { pacer, applied } = recording();
    pacer.schedule('rows', () => applied.push('rows 1'));
    pacer.flush();
    expect(applied).toEqual(['rows 1']);
    pacer.schedule('rows', () => applied.push('rows 2'));
    pacer.close();
    pacer.schedule('rows', () => applied.push('rows 3'));
    vi.advanceTimersByTime(2000);
    expect(applied).toEqual(['rows 1']);
  });
});
