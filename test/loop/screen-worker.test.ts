/**
 * The rendered screen as built runners keep it: in a worker thread. Runs the compiled module (the worker
 * needs compiled JavaScript) and checks that snapshots follow writes and resizes in order.
 */
import { beforeAll, describe, expect, it } from 'vitest';
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
});
