/**
 * OutputBatch (src/loop/output-batch.ts): an agent's output after a quiet spell, and every small read, goes on
 * at once; large reads that stream are gathered into larger chunks, never held long, never reordered or lost.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BURST_GAP_MS,
  HOLD_BYTES,
  HOLD_MS,
  MIN_HELD_CHUNK,
  OutputBatch,
} from '../../src/loop/output-batch.js';

let clock = 0;
let out: Buffer[];
let batch: OutputBatch;

beforeEach(() => {
  vi.useFakeTimers();
  clock = 1000;
  out = [];
  batch = new OutputBatch(
    (chunk) => out.push(chunk),
    () => clock,
  );
});
afterEach(() => {
  vi.useRealTimers();
});

/** A read as large as a busy PTY gives: `MIN_HELD_CHUNK` bytes of one letter. */
const big = (letter: string): Buffer => Buffer.alloc(MIN_HELD_CHUNK, letter);
const letters = (chunks: Buffer[]): string[] => chunks.map((c) => [...new Set(c.toString())].join(''));

describe('OutputBatch', () => {
  it('hands on output after a quiet spell at once', () => {
    batch.push(big('a'));
    expect(letters(out)).toEqual(['a']);
    clock += 50;
    batch.push(big('b'));
    expect(letters(out)).toEqual(['a', 'b']);
  });

  it('never holds small reads: keystroke echoes typed back to back each go on at once', () => {
    for (const key of 'hello') {
      clock += BURST_GAP_MS / 10;
      batch.push(Buffer.from(key));
      expect(out.at(-1)!.toString()).toBe(key);
    }
    expect(out).toHaveLength(5);
  });

  it('gathers a burst of large reads and hands it on as one chunk within HOLD_MS, in order', () => {
    batch.push(big('a'));
    for (const letter of ['b', 'c', 'd']) {
      clock += BURST_GAP_MS / 4;
      batch.push(big(letter));
    }
    // The first read went at once; the rest of the burst is held.
    expect(letters(out)).toEqual(['a']);
    vi.advanceTimersByTime(HOLD_MS - 1);
    expect(out).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(out).toHaveLength(2);
    expect(out[1]!.toString()).toBe(big('b').toString() + big('c').toString() + big('d').toString());
  });

  it('a small read hands on what is held with it, behind it in order, without waiting', () => {
    batch.push(big('a'));
    clock += BURST_GAP_MS / 4;
    batch.push(big('b'));
    clock += BURST_GAP_MS / 4;
    batch.push(Buffer.from('$ '));
    expect(out).toHaveLength(2);
    expect(out[1]!.toString()).toBe(big('b').toString() + '$ ');
  });

  it('a large read after a quiet spell goes on at once, behind what was held', () => {
    batch.push(big('a'));
    clock += BURST_GAP_MS / 2;
    batch.push(big('b'));
    clock += BURST_GAP_MS * 5;
    batch.push(big('c'));
    expect(letters(out)).toEqual(['a', 'bc']);
    vi.advanceTimersByTime(HOLD_MS * 10);
    expect(out).toHaveLength(2);
  });

  it('hands on a burst as soon as HOLD_BYTES have gathered, without waiting for the timer', () => {
    batch.push(big('x'));
    const piece = Buffer.alloc(HOLD_BYTES / 4, 'y');
    for (let i = 0; i < 4; i++) {
      clock += BURST_GAP_MS / 10;
      batch.push(piece);
    }
    expect(out).toHaveLength(2);
    expect(out[1]!.length).toBe(HOLD_BYTES);
    vi.advanceTimersByTime(HOLD_MS * 10);
    expect(out).toHaveLength(2);
  });

  it('flush() hands on everything held at once, and only once', () => {
    batch.push(big('a'));
    clock += BURST_GAP_MS / 2;
    batch.push(big('b'));
    batch.flush();
    batch.flush();
    vi.advanceTimersByTime(HOLD_MS * 10);
    expect(letters(out)).toEqual(['a', 'b']);
  });

  it('loses no byte of a long stream of reads of every size, and gathers the large ones', () => {
    const sent: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const chunk = Buffer.alloc(1 + ((i * 7919) % 5000), i % 251);
      sent.push(chunk);
      clock += i % 97 === 0 ? BURST_GAP_MS * 3 : BURST_GAP_MS / 8;
      batch.push(chunk);
      if (i % 13 === 0) vi.advanceTimersByTime(1);
    }
    batch.flush();
    expect(Buffer.concat(out).equals(Buffer.concat(sent))).toBe(true);
    expect(out.length).toBeLessThan(sent.length / 2);
  });
});
