/**
 * A runner loads execa only when it runs a `--verify`, `--on-end` or notification command. When it cannot
 * (ralph reinstalled while the loop ran: the bundle's chunk is gone), the acceptance check fails with a message
 * that says so, and a notice is logged and skipped: it never becomes an unhandled rejection in the runner.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { detectBinary } from '../../src/loop/agents/detect.js';
import { Notifier } from '../../src/loop/notify.js';
import { loadPrd } from '../../src/loop/prd.js';
import type { LoopState } from '../../src/loop/types.js';
import { verifyNewlyPassing } from '../../src/loop/verify.js';

vi.mock('execa', () => {
  throw new Error("Cannot find module '/opt/ralph/dist/cli/chunk-old.js'");
});

// (vitest words the import's own failure; a real install's is Node's "Cannot find module".)
const REINSTALLED =
  /^cannot load execa to run a command \(.+\); was ralph reinstalled while the loop ran\?$/s;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function taskDir(passes: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'ralph-execa-'));
  dirs.push(dir);
  const story = { id: 'US-001', title: 'one', description: 'one', acceptanceCriteria: ['it works'] };
  const prd = {
    project: 'x',
    branchName: 'ralph/x',
    description: 'x',
    userStories: [{ ...story, priority: 1, passes, notes: '', verify: 'true' }],
  };
  writeFileSync(join(dir, 'prd.json'), JSON.stringify(prd));
  return dir;
}

describe('execa that cannot be loaded', () => {
  it('fails the acceptance check with a message that names the likely cause', async () => {
    const before = loadPrd(join(taskDir(false), 'prd.json'));
    const dir = taskDir(true);
    const after = loadPrd(join(dir, 'prd.json'));
    await expect(
      verifyNewlyPassing({
        iteration: 1,
        taskDir: dir,
        cwd: dir,
        before,
        after,
        commands: [],
        timeoutMs: 10_000,
        env: process.env,
      }),
    ).rejects.toThrow(REINSTALLED);
  });

  it('logs and skips an --on-end command; the notice never rejects', async () => {
    const lines: string[] = [];
    const dir = taskDir(true);
    const notifier = new Notifier({ onEnd: 'true', sessionDir: dir, log: (line) => lines.push(line) });
    const state = { task: 'x', taskDir: dir, status: 'completed', iteration: 1 } as unknown as LoopState;
    notifier.send('ended', state);
    await expect(notifier.settled()).resolves.toBeUndefined();
    expect(
      lines.some((line) => REINSTALLED.test(line)),
      lines.join('\n'),
    ).toBe(true);
  });

  it("fails an agent's version check with the same message", async () => {
    await expect(detectBinary('node')).rejects.toThrow(REINSTALLED);
  });
});
