import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Database } from '../../src/registry/sqlite.js';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RalphError } from '../../src/errors.js';
import { MIGRATIONS, Registry, SCHEMA_VERSION } from '../../src/registry/index.js';
import { migrate } from '../../src/registry/migrations.js';
import { localSession, openIn, tempHome, type TempHome } from './helpers.js';

let home: TempHome;
beforeEach(() => {
  home = tempHome();
});
afterEach(() => home.cleanup());

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

function catchError(fn: () => unknown): RalphError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RalphError) return err;
    throw err;
  }
  throw new Error('expected a RalphError');
}

describe('opening the registry', () => {
  it('creates the data dir 0700 and the database file 0600 at ralphPaths().registryFile', () => {
    const reg = openIn(home);
    reg.close();
    expect(reg.file).toBe(join(home.root, 'data', 'ralph-registry.sqlite3'));
    expect(mode(home.paths.dataDir)).toBe(0o700);
    expect(mode(home.paths.registryFile)).toBe(0o600);
  });

  it('tightens an existing data dir that is too open', () => {
    mkdirSync(home.paths.dataDir, { recursive: true });
    chmodSync(home.paths.dataDir, 0o755);
    openIn(home).close();
    expect(mode(home.paths.dataDir)).toBe(0o700);
  });

  it('leaves an existing foreign directory alone when given an explicit file', () => {
    const dir = join(home.root, 'elsewhere');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    Registry.open(join(dir, 'r.sqlite3'), { env: home.env }).close();
    expect(mode(dir)).toBe(0o755);
    expect(existsSync(home.paths.dataDir)).toBe(false);
  });

  it('puts the database in WAL mode at the current schema version', () => {
    openIn(home).close();
    const db = new Database(home.paths.registryFile, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      const indexes = db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions' ORDER BY name",
        )
        .pluck()
        .all();
      expect(indexes).toEqual(['sessions_one_active', 'sessions_status', 'sessions_task']);
    } finally {
      db.close();
    }
  });

  it('reopens an existing registry without migrating again and keeps its rows', () => {
    const first = openIn(home);
    const created = first.create(localSession('alpha'));
    first.close();
    for (let i = 0; i < 3; i++) {
      const again = openIn(home);
      expect(again.get(created.id)).toEqual(created);
      again.close();
    }
    const db = new Database(home.paths.registryFile, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
  });

  it('runs only pending migration steps, and a later step once', () => {
    openIn(home).close();
    const db = new Database(home.paths.registryFile);
    try {
      const steps = [
        ...MIGRATIONS,
        { description: 'note column', sql: 'ALTER TABLE sessions ADD COLUMN note TEXT' },
      ];
      expect(migrate(db, home.paths.registryFile, steps)).toBe(MIGRATIONS.length);
      expect(migrate(db, home.paths.registryFile, steps)).toBe(steps.length);
      expect(db.pragma('user_version', { simple: true })).toBe(steps.length);
      const cols = db
        .prepare("SELECT name FROM pragma_table_info('sessions') WHERE name = 'note'")
        .pluck()
        .all();
      expect(cols).toEqual(['note']);
    } finally {
      db.close();
    }
  });

  it('rolls a failing migration back completely', () => {
    openIn(home).close();
    const db = new Database(home.paths.registryFile);
    try {
      const steps = [
        ...MIGRATIONS,
        { description: 'half done', sql: 'CREATE TABLE extra (a); INSERT INTO no_such_table VALUES (1);' },
      ];
      expect(() => migrate(db, home.paths.registryFile, steps)).toThrow(/no_such_table/);
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'extra'").pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  it('refuses a database from a newer ralph with REGISTRY_TOO_NEW and leaves it untouched', () => {
    openIn(home).close();
    const db = new Database(home.paths.registryFile);
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    const err = catchError(() => openIn(home));
    expect(err.code).toBe('REGISTRY_TOO_NEW');
    expect(err.message).toContain(home.paths.registryFile);
    expect(err.message).toContain(String(SCHEMA_VERSION + 5));
    const after = new Database(home.paths.registryFile, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 5);
    after.close();
  });

  it('reports a file that is not SQLite as REGISTRY_CORRUPT naming the path, without overwriting it', () => {
    mkdirSync(home.paths.dataDir, { recursive: true, mode: 0o700 });
    const junk = 'this is a text file, not a database\n'.repeat(200);
    writeFileSync(home.paths.registryFile, junk);
    const err = catchError(() => openIn(home));
    expect(err.code).toBe('REGISTRY_CORRUPT');
    expect(err.message).toContain(home.paths.registryFile);
    expect(err.hint).toContain(home.paths.registryFile);
    expect(readFileSync(home.paths.registryFile, 'utf8')).toBe(junk);
  });

  it('waits for a write lock held by another process instead of failing', async () => {
    openIn(home).close();
    const holder = execa(
      process.execPath,
      [
        '-e',
        `const D = require(Number(process.versions.node.split('.')[0]) >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3');
         const db = new D(process.argv[1]);
         db.exec('BEGIN IMMEDIATE');
         db.prepare("UPDATE sessions SET task = task").run();
         process.stdout.write('locked\\n');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 800);
         db.exec('COMMIT');
         db.close();`,
        home.paths.registryFile,
      ],
      { cwd: process.cwd() },
    );
    await new Promise<void>((resolve, reject) => {
      holder.stdout?.once('data', () => resolve());
      holder.catch(reject);
    });
    const reg = openIn(home);
    try {
      const created = reg.create(localSession('waiter'));
      expect(reg.get(created.id)?.task).toBe('waiter');
    } finally {
      reg.close();
    }
    await holder;
  });
});
