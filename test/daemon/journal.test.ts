/** The event journal on real files: restarts, torn and damaged lines, rotation, `since` at every edge. */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal, type JournalEntry } from '../../src/daemon/journal.js';

let dir: string;
let file: string;
const open: Journal[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ralph-journal-'));
  file = join(dir, 'daemon', 'journal.ndjson');
});
afterEach(() => {
  for (const j of open.splice(0)) j.close();
  rmSync(dir, { recursive: true, force: true });
});

function openJournal(options: Parameters<typeof Journal.open>[1] = {}): Journal {
  const j = Journal.open(file, options);
  open.push(j);
  return j;
}

const lines = (): string[] => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const seqs = (entries: JournalEntry[]): number[] => entries.map((e) => e.seq);

describe('Journal', () => {
  it('appends one NDJSON line per entry with seq from 1, and emits each entry', () => {
    const j = openJournal({ now: () => new Date('2026-12-06T10:00:00.000Z') });
    expect(j.lastSeq).toBe(0);
    expect(j.since(0)).toEqual([]);
    const seen: JournalEntry[] = [];
    j.on('entry', (e) => seen.push(e));
    const first = j.append('loop_started', 'feature-a', { task: 'feature-a', loop_id: '7' });
    j.append('state_change', 'feature-a', {
      task: 'feature-a',
      loop_id: '7',
      from: 'starting',
      to: 'running',
    });
    j.append('loop_completed', 'feature-a', { task: 'feature-a', status: 'completed', iteration: 3 });
    expect(first).toEqual({
      seq: 1,
      time: '2026-12-06T10:00:00.000Z',
      type: 'loop_started',
      task: 'feature-a',
      data: { task: 'feature-a', loop_id: '7' },
    });
    expect(seqs(seen)).toEqual([1, 2, 3]);
    expect(j.lastSeq).toBe(3);
    expect(lines().map((l) => (JSON.parse(l) as JournalEntry).seq)).toEqual([1, 2, 3]);
    expect(JSON.parse(lines()[0]!)).toEqual(first);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'daemon')).mode & 0o777).toBe(0o700);
  });

  it('continues the sequence after a restart and replays from the file', () => {
    const a = openJournal();
    for (let i = 0; i < 5; i++) a.append('state_change', `t${i}`, { i });
    a.close();
    const b = openJournal();
    expect(b.lastSeq).toBe(5);
    expect(seqs(b.since(2))).toEqual([3, 4, 5]);
    expect(b.since(2)[0]).toMatchObject({ task: 't2', data: { i: 2 } });
    expect(b.append('loop_lost', 't9', {}).seq).toBe(6);
    b.close();
    const c = openJournal();
    expect(seqs(c.since(0))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('ignores a torn last line, cuts it off, and the next entry starts on a clean line', () => {
    const a = openJournal();
    a.append('loop_started', 'x', {});
    a.append('state_change', 'x', {});
    a.close();
    const before = statSync(file).size;
    appendFileSync(file, '{"seq":3,"time":"2026-12-06T10:00:00.000Z","type":"loop_fai');
    const b = openJournal();
    expect(b.tornBytes).toBeGreaterThan(0);
    expect(b.damagedLines).toBe(0);
    expect(statSync(file).size).toBe(before);
    expect(b.lastSeq).toBe(2);
    expect(b.append('loop_failed', 'x', { status: 'failed' }).seq).toBe(3);
    expect(lines().map((l) => (JSON.parse(l) as JournalEntry).seq)).toEqual([1, 2, 3]);
  });

  it('skips damaged or out-of-order lines in the middle and still knows the last seq', () => {
    const good = (seq: number) =>
      JSON.stringify({ seq, time: '2026-12-06T10:00:00.000Z', type: 'state_change', task: 'x', data: {} });
    const other = join(dir, 'j.ndjson');
    writeFileSync(
      other,
      [
        good(1),
        'not json',
        JSON.stringify({ seq: 2, type: 'unknown_type', time: 'x', task: null }),
        good(4),
        good(3),
        '[]',
        good(7),
        '',
      ].join('\n'),
    );
    const j = Journal.open(other);
    open.push(j);
    expect(j.damagedLines).toBe(4);
    expect(seqs(j.since(0))).toEqual([1, 4, 7]);
    expect(j.lastSeq).toBe(7);
    expect(j.append('loop_lost', 'x', {}).seq).toBe(8);
  });

  it('keeps the file bounded by rotation, keeping the newest entries and the sequence', () => {
    const j = openJournal({ maxEntries: 20, keepEntries: 10 });
    for (let i = 1; i <= 55; i++) j.append('state_change', 't', { i });
    expect(j.lastSeq).toBe(55);
    expect(j.size).toBeLessThanOrEqual(20);
    expect(j.size).toBeGreaterThanOrEqual(10);
    const inFile = lines().map((l) => (JSON.parse(l) as JournalEntry).seq);
    expect(inFile).toEqual(seqs(j.since(0)));
    expect(inFile.at(-1)).toBe(55);
    // Contiguous: nothing lost between the oldest kept and the newest.
    expect(inFile).toEqual(Array.from({ length: inFile.length }, (_, k) => inFile[0]! + k));
    j.close();
    const again = openJournal({ maxEntries: 20, keepEntries: 10 });
    expect(again.lastSeq).toBe(55);
    expect(again.append('loop_lost', 't', {}).seq).toBe(56);
    console.log(`[journal] after 56 appends: ${again.size} entries kept, oldest seq ${again.firstSeq}`);
  });

  it('answers since() before the oldest kept entry with what is kept and truncated: true', () => {
    const j = openJournal({ maxEntries: 10, keepEntries: 5 });
    for (let i = 1; i <= 23; i++) j.append('state_change', 't', { i });
    const first = j.firstSeq!;
    expect(first).toBeGreaterThan(1);
    const old = j.since(1);
    expect(old.truncated).toBe(true);
    expect(seqs(old)).toEqual(seqs(j.since(0)));
    expect(old[0]!.seq).toBe(first);
    // Exactly at the edge nothing is missing.
    const edge = j.since(first - 1);
    expect(edge.truncated).toBe(false);
    expect(edge[0]!.seq).toBe(first);
    expect(j.since(first - 2).truncated).toBe(true);
  });

  it('answers since() at or beyond the newest entry with nothing; beyond it also says truncated', () => {
    const j = openJournal();
    for (let i = 0; i < 3; i++) j.append('state_change', 't', {});
    const atEnd = j.since(3);
    expect([...atEnd]).toEqual([]);
    expect(atEnd.truncated).toBe(false);
    // A seq the journal never reached: the file was started anew since the client saw it.
    const ahead = j.since(50);
    expect([...ahead]).toEqual([]);
    expect(ahead.truncated).toBe(true);
    expect(seqs(j.since(-4))).toEqual([1, 2, 3]);
    expect(j.since(-4).truncated).toBe(false);
    expect(seqs(j.since(1.5))).toEqual([2, 3]);
  });

  it('keeps serving when a write fails, and the next entry starts on its own line', () => {
    const j = openJournal();
    j.append('loop_started', 'x', {});
    const failures: string[] = [];
    j.on('write_failed', (err) => failures.push(err.message));
    // Close the file descriptor under the journal so that the next write fails.
    j.close();
    const seen: number[] = [];
    j.on('entry', (e) => seen.push(e.seq));
    expect(j.append('state_change', 'x', {}).seq).toBe(2);
    expect(failures).toHaveLength(1);
    expect(seen).toEqual([2]);
    expect(seqs(j.since(0))).toEqual([1, 2]);
  });
});
