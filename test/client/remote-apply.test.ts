/**
 * What `ralph status` writes for a remote's answer: a daemon that lists 100 loops costs the laptop's registry one
 * commit for the rows it adds and one for the rows it updates, not one per row (each commit is a write of the
 * registry's log, and 100 of them were most of the time a status with remotes took). Counted from the WAL
 * file: each commit appends at least one frame.
 */
import { statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoopSummary } from '../../src/client/remote/daemon-types.js';
import { applyRemoteLoops } from '../../src/client/remote/remote-status.js';
import type { Registry } from '../../src/registry/index.js';
import { Database } from '../../src/registry/sqlite.js';
import { openIn, tempHome, type TempHome } from '../registry/helpers.js';

const REMOTE = {
  name: 'box',
  identity: '/home/u/.config/ralph/identities/laptop.json',
  service: 'ralph-box',
};
const LOOPS = 100;

function loop(i: number, status: LoopSummary['status'], iteration: number): LoopSummary {
  return {
    task: `task-${i}`,
    loop_id: String(i + 1),
    status,
    iteration,
    max_iterations: 50,
    agent: 'claude',
    task_dir: `/srv/work/task-${i}`,
    branch: null,
    current_story: null,
    started_at: '2026-01-23T10:00:00.000Z',
    ended_at: null,
    exit_reason: null,
    updated_at: '2026-01-23T10:15:30.123Z',
  };
}

let home: TempHome;
let reg: Registry;

beforeEach(() => {
  home = tempHome();
  reg = openIn(home);
});
afterEach(() => {
  reg.close();
  home.cleanup();
});

/** Frames the registry's WAL holds since the last `truncate()`. */
function walFrames(): number {
  const db = new Database(home.paths.registryFile);
  try {
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const size = statSync(`${home.paths.registryFile}-wal`).size;
    return size <= 32 ? 0 : (size - 32) / (pageSize + 24);
  } finally {
    db.close();
  }
}

function truncate(): void {
  const db = new Database(home.paths.registryFile);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

describe("a remote's answer in the registry", () => {
  it('adds 100 listed loops in one commit, then updates all 100 in one more', async () => {
    truncate();
    expect(walFrames()).toBe(0);
    const first = await applyRemoteLoops(
      reg,
      REMOTE,
      Array.from({ length: LOOPS }, (_, i) => loop(i, 'running', 1)),
    );
    expect(first.added).toHaveLength(LOOPS);
    const afterAdd = walFrames();
    expect(afterAdd).toBeGreaterThan(0);
    // One commit of a few dirty pages (the table and its indexes), far fewer than one frame per row.
    expect(afterAdd).toBeLessThan(LOOPS / 4);

    truncate();
    const second = await applyRemoteLoops(
      reg,
      REMOTE,
      Array.from({ length: LOOPS }, (_, i) => loop(i, i % 2 === 0 ? 'completed' : 'running', 2)),
    );
    expect(second.added).toHaveLength(0);
    expect(second.report.alive).toHaveLength(LOOPS / 2);
    expect(walFrames()).toBeLessThan(LOOPS / 4);
    // Every row took its answer.
    const rows = reg.list({ remoteName: 'box', all: true });
    expect(rows).toHaveLength(LOOPS);
    expect(rows.every((r) => r.iteration === 2)).toBe(true);
    expect(rows.filter((r) => r.status === 'completed')).toHaveLength(LOOPS / 2);
  });

  it('stamps only lastSeen on rows the answer leaves unchanged, and leaves a row that ended meanwhile alone', async () => {
    const at = (minute: number) => () => new Date(`2026-01-23T11:${String(minute).padStart(2, '0')}:00.000Z`);
    const answer = Array.from({ length: 3 }, (_, i) => loop(i, 'running', 4));
    await applyRemoteLoops(reg, REMOTE, answer, at(1));
    const rows = reg.list({ remoteName: 'box', all: true });
    expect(rows.map((r) => r.lastSeen)).toEqual(Array(3).fill('2026-01-23T11:01:00.000Z'));
    // One row ends here (say, `ralph stop` from this laptop) while the remote still lists it as running.
    const ended = rows.find((r) => r.task === 'task-1')!;
    reg.update(ended.id, { status: 'stopped', exitReason: 'stopped by user' });
    const { report } = await applyRemoteLoops(reg, REMOTE, answer, at(2));
    expect(report.alive.map((r) => r.task).sort()).toEqual(['task-0', 'task-2']);
    const after = reg.list({ remoteName: 'box', all: true });
    for (const row of after) {
      const was = rows.find((r) => r.id === row.id)!;
      if (row.id === ended.id) {
        expect(row).toMatchObject({ status: 'stopped', lastSeen: '2026-01-23T11:01:00.000Z' });
        continue;
      }
      expect(row.lastSeen).toBe('2026-01-23T11:02:00.000Z');
      expect({ ...row, lastSeen: null, updatedAt: null }).toEqual({
        ...was,
        lastSeen: null,
        updatedAt: null,
      });
    }
  });
});
