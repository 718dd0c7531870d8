/**
 * The loop and the terminal it was started from: `start --foreground` runs the loop in the calling process and
 * prints the agent's output; a detached runner has its own session, so closing the terminal that started it
 * (or that is attached to it) leaves the loop running.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/util/proc.js';
import { CLI_MAIN, ensureCliBuilt } from './built.js';
import { CliSandbox, sessionIdOf, startArgs, waitFor, type TaskFolder } from './harness.js';

let sb: CliSandbox;
beforeAll(async () => {
  await ensureCliBuilt();
});
beforeEach(() => {
  sb = new CliSandbox();
});
afterEach(async () => {
  await sb.dispose();
});

const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

function startLine(task: TaskFolder, extra: string[] = []): string {
  const args = startArgs(task, ['--iteration-timeout', '0', '--idle-timeout', '0', ...extra]);
  return [process.execPath, CLI_MAIN, ...args].map(quote).join(' ');
}

describe('start --foreground', () => {
  it('runs the loop to completion in this process and prints the agent output', async () => {
    const task = sb.makeTask('fg', {
      stories: 2,
      script: [{ print: 'FOREGROUND at work' }, { passStory: 'current' }],
    });
    const result = await sb.ralph(startArgs(task, ['--foreground']));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.match(/FOREGROUND at work/g)).toHaveLength(2);
    expect(result.stdout).toContain('loop completed: all stories pass');
    expect(sb.session('fg')).toMatchObject({ status: 'completed', iteration: 2 });
  });

  it('exits 10 when the loop runs out of iterations', async () => {
    const task = sb.makeTask('fgx', { script: [{ print: 'FOREGROUND idle' }] });
    const result = await sb.ralph(startArgs(task, ['--foreground', '-n', '2']));
    expect(result.exitCode, result.stderr).toBe(10);
    expect(result.stdout.match(/FOREGROUND idle/g)).toHaveLength(2);
    expect(sb.session('fgx')).toMatchObject({ status: 'exhausted', iteration: 2 });
  });
});

describe('closing the terminal', () => {
  it('leaves a loop started from a shell in it running', async () => {
    const task = sb.makeTask('survivor', { script: [{ print: 'SURVIVOR' }, { hang: true }] });
    const shell = sb.spawnTerm('bash', [
      '--noprofile',
      '--norc',
      '-c',
      `${startLine(task)} && echo START-OK && sleep 120`,
    ]);
    await shell.waitFor('START-OK', 'ralph start to finish in the shell');
    const session = await sb.waitForSession('survivor', (s) => s.status === 'running', 'the loop to run');
    const runner = session.pid!;
    expect(sessionIdOf(runner)).toBe(runner);
    expect(sessionIdOf(runner)).not.toBe(sessionIdOf(shell.pid));

    shell.hangUp();
    await shell.exited('the shell to die with its terminal', 10_000);
    expect(isAlive(runner)).toBe(true);
    const status = await sb.ralph(['status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({
      sessions: [{ task: 'survivor', status: 'running', pid: runner }],
    });
    const peek = await sb.ralph(['peek', 'survivor']);
    expect(peek.exitCode).toBe(0);
    expect(peek.stdout).toContain('SURVIVOR');
    expect((await sb.ralph(['stop', 'survivor'])).stdout).toBe('survivor: stopped\n');
  });

  it('leaves the loop running when the attached terminal closes', async () => {
    const task = sb.makeTask('orphan', { script: [{ print: 'ORPHAN' }, { hang: true }] });
    const shell = sb.spawnTerm('bash', ['--noprofile', '--norc', '-c', startLine(task, ['--attach'])]);
    await shell.waitFor('ORPHAN', 'the attached output');
    const session = await sb.waitForSession('orphan', (s) => s.status === 'running', 'the loop to run');

    shell.hangUp();
    await shell.exited('attach to die with its terminal', 10_000);
    await waitFor(
      async () => (await sb.ralph(['peek', 'orphan'])).stdout.includes('ORPHAN'),
      'the loop to answer',
    );
    expect(isAlive(session.pid!)).toBe(true);
    expect(sb.session('orphan')).toMatchObject({ status: 'running', id: session.id });
    expect((await sb.ralph(['stop', 'orphan'])).exitCode).toBe(0);
  });
});
