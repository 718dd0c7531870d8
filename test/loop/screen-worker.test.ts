/**
 * The rendered screen as built runners keep it: in a worker thread. Runs the compiled module (the worker
 * needs compiled JavaScript) and checks that snapshots follow writes and resizes in order.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OutputLog } from '../../src/loop/output-log.js';
import type * as ScreenModelModule from '../../src/loop/screen-model.js';
import { builtModule, ensureRunnerBuilt } from './helpers.js';

let mod: typeof ScreenModelModule;
beforeAll(async () => {
  await ensureRunnerBuilt();
  mod = (await import(builtModule('src/loop/screen-model.js'))) as typeof ScreenModelModule;
});

describe('screen in a worker thread', () => {
  it('renders what was written before each snapshot, through escapes and a resize', async () => {
    const screen = mod.createScreenModel(40, 6);
    try {
      expect(screen.constructor.name).toBe('WorkerScreen');
      screen.write(Buffer.from('hello\r\n\x1b[1mbold\x1b[0m line\r\nwill be ov'));
      screen.write(Buffer.from('\rOVER'));
      const first = await screen.snapshot();
      expect(first.lines.slice(0, 3)).toEqual(['hello', 'bold line', 'OVER be ov']);
      expect(first.cursor).toEqual({ x: 4, y: 2 });
      screen.resize(20, 3);
      screen.write(Buffer.from('\x1b[2J\x1b[Hcleared'));
      const second = await screen.snapshot();
      expect(second.cols).toBe(20);
      expect(second.rows).toBe(3);
      expect(second.lines).toEqual(['cleared', '', '']);
    } finally {
      screen.dispose();
    }
  });

  it('keeps up with many small writes and answers every snapshot', async () => {
    const screen = mod.createScreenModel(80, 24);
    try {
      for (let i = 0; i < 2000; i++) screen.write(Buffer.from(`line ${i}\r\n`));
      const shots = await Promise.all([screen.snapshot(), screen.snapshot()]);
      for (const shot of shots) expect(shot.lines[22]).toBe('line 1999');
    } finally {
      screen.dispose();
    }
  });

  it.runIf(process.platform === 'linux')(
    'parses at a lower priority than the thread that feeds it',
    async () => {
      // Nice values of this process's threads, from /proc (Linux keeps one per thread).
      const nices = (): number[] =>
        readdirSync('/proc/self/task').flatMap((tid) => {
          try {
            const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
            return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
          } catch {
            return []; // a thread that ended meanwhile
          }
        });
      const own = getPriority();
      const nicer = Math.min(19, own + 10);
      // Workers of the tests above end some time after their dispose: start with none left.
      const waitUntil = Date.now() + 10_000;
      while (nices().includes(nicer) && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 20));
      const before = nices().filter((n) => n === nicer).length;
      expect(before).toBe(0);
      const screen = mod.createScreenModel(80, 24);
      try {
        screen.write(Buffer.from('hello\r\n'));
        expect((await screen.snapshot()).lines[0]).toBe('hello');
        expect(nices().filter((n) => n === nicer).length).toBe(before + 1);
        expect(getPriority()).toBe(own);
      } finally {
        screen.dispose();
      }
    },
  );
});

describe('a screen model started on demand', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ralph-lazy-screen-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Feeds the same bytes and resizes to an eager model and to a lazy one reading its log; returns both. */
  function feed(steps: (Buffer | { cols: number; rows: number })[], startAfterBytes?: number) {
    const log = OutputLog.create(join(dir, 'output.log'));
    // Output from before this runner began is not part of its screen.
    log.append(Buffer.from('EARLIER RUN\r\n'));
    const eager = mod.createScreenModel(30, 5);
    const lazy = mod.createScreenModel(30, 5, {
      source: log,
      ...(startAfterBytes ? { startAfterBytes } : {}),
    });
    play(log, eager, lazy, steps);
    return { log, eager, lazy: lazy as ScreenModelModule.ScreenModel & { started: boolean } };
  }

  /** Appends each chunk to the log and writes it to both models; resizes both. */
  function play(
    log: OutputLog,
    eager: ScreenModelModule.ScreenModel,
    lazy: ScreenModelModule.ScreenModel,
    steps: (Buffer | { cols: number; rows: number })[],
  ): void {
    for (const step of steps) {
      if (Buffer.isBuffer(step)) {
        log.append(step);
        eager.write(step);
        lazy.write(step);
      } else {
        eager.resize(step.cols, step.rows);
        lazy.resize(step.cols, step.rows);
      }
    }
  }

  it('does not start until a snapshot, then shows what an eager model shows, resizes included', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => Buffer.from(`row ${i} ${'x'.repeat(i % 25)}\r\n`));
    const { log, eager, lazy } = feed([
      ...lines.slice(0, 20),
      { cols: 12, rows: 4 },
      ...lines.slice(20, 30),
      Buffer.from('\x1b[1mbold\x1b[0m and a long line that wraps at twelve'),
      { cols: 50, rows: 6 },
      ...lines.slice(30),
      Buffer.from('\rtail'),
    ]);
    try {
      expect(lazy.started).toBe(false);
      const [want, got] = await Promise.all([eager.snapshot(30), lazy.snapshot(30)]);
      expect(lazy.started).toBe(true);
      expect(got).toEqual(want);
      expect(got.lines.join('\n')).not.toContain('EARLIER RUN');
      // Once started it follows new output directly.
      const more = Buffer.from('\r\nafter the start');
      log.append(more);
      eager.write(more);
      lazy.write(more);
      expect(await lazy.snapshot()).toEqual(await eager.snapshot());
    } finally {
      eager.dispose();
      lazy.dispose();
      log.close();
    }
  });

  it('once started reads a flood from the log itself and keeps resizes in place', async () => {
    const flood = (from: number, n: number) =>
      Buffer.from(
        Array.from({ length: n }, (_, i) => `\x1b[3${(from + i) % 8}mflood ${from + i}\r\n`).join(''),
      );
    const { log, eager, lazy } = feed([flood(0, 20_000)], 1024);
    try {
      expect(lazy.started).toBe(true);
      play(log, eager, lazy, [
        { cols: 20, rows: 7 },
        flood(20_000, 30_000),
        { cols: 60, rows: 3 },
        flood(50_000, 50),
      ]);
      const got = await lazy.snapshot(1000);
      expect(got).toEqual(await eager.snapshot(1000));
      expect(got.lines.at(-2)).toBe('flood 50049');
    } finally {
      eager.dispose();
      lazy.dispose();
      log.close();
    }
  });

  it('starts on its own once the output passes the threshold', async () => {
    const { log, eager, lazy } = feed(
      Array.from({ length: 30 }, (_, i) => Buffer.from(`line ${i}\r\n`)),
      200,
    );
    try {
      expect(lazy.started).toBe(true);
      expect(await lazy.snapshot(10)).toEqual(await eager.snapshot(10));
    } finally {
      eager.dispose();
      lazy.dispose();
      log.close();
    }
  });
});
