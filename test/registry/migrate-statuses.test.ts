/** A registry written before the waiting/stalled/budget_exceeded statuses is brought forward with its rows. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Database } from '../../src/registry/sqlite.js';
import { MIGRATIONS } from '../../src/registry/index.js';
import { migrate } from '../../src/registry/migrations.js';
import { localSession, openIn, tempHome, type TempHome } from './helpers.js';

let home: TempHome;
beforeEach(() => {
  home = tempHome();
});
afterEach(() => home.cleanup());

describe('migration to the rate-limit and stall statuses', () => {
  it('keeps old rows, takes the new statuses and counts stalled and budget_exceeded as ended', () => {
    mkdirSync(dirname(home.paths.registryFile), { recursive: true });
    const db = new Database(home.paths.registryFile);
    migrate(db, home.paths.registryFile, MIGRATIONS.slice(0, 1));
    db.prepare(
      `INSERT INTO sessions (task, location, transport, address, status, max_iterations, agent, task_dir,
         created_at, updated_at, exit_reason)
       VALUES ('old', 'local', 'unix', '/tmp/x.sock', 'exhausted', 5, 'claude', '/tmp/old', 'c', 'u', 'limit')`,
    ).run();
    expect(() => db.prepare("UPDATE sessions SET status = 'stalled' WHERE task = 'old'").run()).toThrow(
      /CHECK constraint/,
    );
    db.close();

    const reg = openIn(home);
    try {
      expect(reg.list({ all: true })).toMatchObject([
        { task: 'old', status: 'exhausted', exitReason: 'limit', waitingUntil: null },
      ]);
      const a = reg.create(localSession('a'));
      const until = new Date(Date.now() + 60_000).toISOString();
      expect(reg.update(a.id, { status: 'waiting', waitingUntil: until })).toMatchObject({
        status: 'waiting',
        waitingUntil: until,
      });
      expect(reg.update(a.id, { status: 'stalled' }).endedAt).not.toBeNull();
      // An ended loop frees its task name: a new session of `a` may start.
      const again = reg.create(localSession('a'));
      reg.update(again.id, { status: 'budget_exceeded' });
      reg.create(localSession('a'));
    } finally {
      reg.close();
    }
  });
});

describe('migration to the lost status', () => {
  it('keeps version-2 rows, including waiting_until, and counts lost as ended', () => {
    mkdirSync(dirname(home.paths.registryFile), { recursive: true });
    const db = new Database(home.paths.registryFile);
    migrate(db, home.paths.registryFile, MIGRATIONS.slice(0, 2));
    db.prepare(
      `INSERT INTO sessions (task, location, transport, address, remote_name, status, max_iterations, agent,
         task_dir, created_at, updated_at, waiting_until)
       VALUES ('far', 'remote', 'ziti', 'ralph-box', 'box', 'waiting', 5, 'claude', '/w/far', 'c', 'u', 'w')`,
    ).run();
    expect(() => db.prepare("UPDATE sessions SET status = 'lost' WHERE task = 'far'").run()).toThrow(
      /CHECK constraint/,
    );
    db.close();

    const reg = openIn(home);
    try {
      const [row] = reg.list({ all: true });
      expect(row).toMatchObject({ task: 'far', remoteName: 'box', status: 'waiting', waitingUntil: 'w' });
      expect(reg.update(row!.id, { status: 'lost' }).endedAt).not.toBeNull();
      // A lost loop frees its task name on that remote.
      reg.create({ ...localSession('far'), location: 'remote', transport: 'ziti', remoteName: 'box' });
    } finally {
      reg.close();
    }
  });
});
