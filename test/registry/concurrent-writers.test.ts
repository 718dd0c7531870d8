/**
 * Many processes writing one registry file at once. The child processes run the BUILT registry (dist/), which
 * `npm test` produces before vitest runs; `ensureBuilt` rebuilds it when missing or stale.
 */
import { join } from 'node:path';
import { Database } from '../../src/registry/sqlite.js';
import { execa, type ResultPromise } from 'execa';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensurePrivateDir } from '../../src/config/paths.js';
import { reconcile, SCHEMA_VERSION, type Registry } from '../../src/registry/index.js';
import { ensureBuilt, RUNNER_FIXTURE, WRITER_FIXTURE } from './built.js';
import { openIn, tempHome, type TempHome } from './helpers.js';

let home: TempHome;
beforeAll(ensureBuilt);
beforeEach(() => {
  home = tempHome();
});
afterEach(() => home.cleanup());

const WRITERS = 50;
const INCREMENTS = 40;

describe('concurrent writer processes', () => {
  it(`${WRITERS} processes racing to create the registry lose no increment and no row`, async () => {
    const results = await Promise.all(
      Array.from({ length: WRITERS }, (_, worker) =>
        execa(
          process.execPath,
          [WRITER_FIXTURE, home.paths.registryFile, String(worker), String(INCREMENTS)],
          {
            env: home.env,
            reject: false,
          },
        ),
      ),
    );
    const failures = results.filter((r) => r.exitCode !== 0).map((r) => r.stderr);
    expect(failures).toEqual([]);
    const reports = results.map((r) => JSON.parse(r.stdout) as { worker: number; counter: number });
    expect(new Set(reports.map((r) => r.counter)).size).toBe(1);

    const reg = openIn(home);
    try {
      const counter = reg.findActive('shared-counter');
      expect(counter?.iteration).toBe(WRITERS * INCREMENTS);
      expect(reg.list({ all: true })).toHaveLength(1 + 2 * WRITERS);
      for (let w = 0; w < WRITERS; w++) {
        expect(reg.latest(`w${w}-a`)).toMatchObject({ status: 'completed', iteration: INCREMENTS });
        expect(reg.latest(`w${w}-a`)?.endedAt).not.toBeNull();
        expect(reg.latest(`w${w}-b`)).toMatchObject({
          status: 'running',
          currentStory: `US-${w}-${INCREMENTS}`,
        });
      }
    } finally {
      reg.close();
    }
    const db = new Database(home.paths.registryFile, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });
});

describe('reconcile racing live runners', () => {
  const RUNNERS = 6;
  const UPDATES = 150;
  const children: ResultPromise[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  function nextLine(child: ResultPromise, want: RegExp): Promise<string> {
    return new Promise((resolve, reject) => {
      let buffer = '';
      const onData = (chunk: Buffer): void => {
        buffer += String(chunk);
        const line = buffer.split('\n').find((l) => want.test(l));
        if (line !== undefined) {
          child.stdout?.off('data', onData);
          resolve(line);
        }
      };
      child.stdout?.on('data', onData);
      child.catch(reject);
    });
  }

  it('loses no runner update and marks no live runner crashed', async () => {
    ensurePrivateDir(home.paths.runDir);
    const reg: Registry = openIn(home);
    try {
      const runners = Array.from({ length: RUNNERS }, (_, i) => {
        const task = `loop-${i}`;
        const child = execa(
          process.execPath,
          [
            RUNNER_FIXTURE,
            home.paths.registryFile,
            task,
            join(home.paths.runDir, `${task}.sock`),
            String(UPDATES),
          ],
          { env: home.env, stdin: 'pipe' },
        );
        children.push(child);
        return { task, child, updated: false };
      });
      await Promise.all(runners.map((r) => nextLine(r.child, /^ready \d+$/)));
      for (const r of runners) {
        void nextLine(r.child, /^updated$/).then(() => (r.updated = true));
        r.child.stdin?.write('go\n');
      }

      let passes = 0;
      const reconciled = new Set<string>();
      while (passes < 500 && runners.some((r) => !r.updated)) {
        const report = await reconcile(reg);
        expect(report.crashed).toEqual([]);
        for (const s of report.alive) reconciled.add(s.task);
        passes += 1;
      }
      expect(runners.every((r) => r.updated)).toBe(true);
      const final = await reconcile(reg);
      expect(final.alive).toHaveLength(RUNNERS);
      for (const s of final.alive) reconciled.add(s.task);
      expect(reconciled.size).toBe(RUNNERS);

      for (const r of runners) r.child.stdin?.end('finish\n');
      const exits = await Promise.all(runners.map((r) => r.child));
      expect(exits.map((e) => e.exitCode)).toEqual(runners.map(() => 0));

      const after = await reconcile(reg);
      expect(after.checked).toBe(0);
      for (const r of runners) {
        const row = reg.latest(r.task)!;
        expect(row).toMatchObject({ status: 'completed', iteration: UPDATES, currentStory: `US-${UPDATES}` });
        expect(row.lastSeen).not.toBeNull();
      }
    } finally {
      reg.close();
    }
  });
});
