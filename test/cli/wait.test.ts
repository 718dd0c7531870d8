/**
 * `ralph wait` blocks until loops end and exits with a code per outcome (docs/cli.md), and `--on-end` runs a
 * command with the loop's figures in its environment. Detached runners, the built binary, the fake agent.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sessionDir } from '../../src/config/paths.js';
import { useCliSandbox, startArgs, waitFor } from './harness.js';

const sb = useCliSandbox();

describe('ralph wait', () => {
  it('exits 0 only for completed, and with a distinct code for each other ending', async () => {
    const loops: [string, unknown[], string[], string, number][] = [
      ['w-completed', [{ passStory: 'current' }], [], 'completed', 0],
      ['w-exhausted', [{ print: 'hm' }], ['--max-iterations', '2', '--stall-after', '0'], 'exhausted', 10],
      ['w-failed', [{ exit: 1 }], ['--max-failures', '1'], 'failed', 11],
      ['w-stalled', [{ print: 'hm' }], ['--stall-after', '2'], 'stalled', 15],
      ['w-budget', [{ sleep: 1500 }], ['--max-duration', '1s'], 'budget_exceeded', 14],
    ];
    for (const [name, script, extra] of loops) {
      const task = sb().makeTask(name, { script: [{ sleep: 1500 }, ...script] });
      await sb().start(task, extra);
    }
    for (const [name, , , status, code] of loops) {
      const result = await sb().ralph(['wait', name], { timeoutMs: 60_000 });
      expect(result.stdout).toContain(`${name} ${status}`);
      expect([name, result.exitCode]).toEqual([name, code]);
    }
    // Several loops: the code of the first one (in the order given) that did not complete.
    const all = await sb().ralph(['wait', 'w-completed', 'w-stalled', 'w-failed']);
    expect(all.exitCode).toBe(15);
    const done = await sb().ralph(['wait', 'w-completed']);
    expect(done.exitCode).toBe(0);
  }, 120_000);

  it('gives up after --timeout with exit code 9', async () => {
    const task = sb().makeTask('w-long', { script: [{ sleep: 20_000 }] });
    await sb().start(task);
    const result = await sb().ralph(['wait', 'w-long', '--timeout', '1s']);
    expect(result.exitCode).toBe(9);
    expect(result.stderr).toMatch(/still running: w-long \(running\)/);
    await sb().ralph(['stop', 'w-long', '--force']);
  }, 60_000);

  it('--on-end runs the command with the documented environment when the loop ends', async () => {
    const task = sb().makeTask('w-hook', { stories: 2, script: [{ passStory: 'current' }] });
    const out = join(sb().root, 'on-end.env');
    const session = await sb().start(task, ['--on-end', `env | grep '^RALPH_' | sort >> '${out}'`]);
    const result = await sb().ralph(['wait', 'w-hook'], { timeoutMs: 60_000 });
    expect(result.exitCode).toBe(0);
    // The shell creates the file before `sort` has written to it: wait for the whole of its output.
    await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').endsWith('\n'), 'the --on-end output');
    const env = Object.fromEntries(
      readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(env).toMatchObject({
      RALPH_EVENT: 'ended',
      RALPH_STATUS: 'completed',
      RALPH_TASK: 'w-hook',
      RALPH_TASK_DIR: task.dir,
      RALPH_REASON: 'all stories pass',
      RALPH_ITERATIONS: '2',
      RALPH_STORIES_PASSING: '2',
      RALPH_STORIES_TOTAL: '2',
      RALPH_WAITING_UNTIL: '',
    });
    expect(env.RALPH_SESSION_DIR).toContain(join('loops', ''));
    expect(existsSync(join(env.RALPH_SESSION_DIR!, 'output.log'))).toBe(true);
    expect(session.task).toBe('w-hook');
    expect(readFileSync(join(env.RALPH_SESSION_DIR!, 'runner.log'), 'utf8')).toContain(
      '--on-end (ended) exit code 0',
    );
  }, 60_000);

  it('--notify sends a desktop notice through notify-send, and says once in the runner log when there is none', async () => {
    const bin = join(sb().root, 'bin');
    mkdirSync(bin, { recursive: true });
    const notices = join(sb().root, 'notices.txt');
    writeFileSync(
      join(bin, 'notify-send'),
      `#!/bin/sh\nprintf '%s|' "$@" >> '${notices}'\necho >> '${notices}'\n`,
    );
    chmodSync(join(bin, 'notify-send'), 0o755);
    const withIt = sb().makeTask('w-notify', { script: [{ passStory: 'current' }] });
    const started = await sb().ralph(startArgs(withIt, ['--notify']), {
      env: { PATH: `${bin}:${process.env.PATH ?? ''}` },
    });
    expect(started.exitCode).toBe(0);
    expect((await sb().ralph(['wait', 'w-notify'])).exitCode).toBe(0);
    await waitFor(() => existsSync(notices), 'the notice');
    expect(readFileSync(notices, 'utf8')).toMatch(
      /^--app-name=ralph\|ralph: w-notify completed\|all stories pass \(1\/1 stories, iteration 1\)\|$/m,
    );

    const without = sb().makeTask('w-no-notify', { script: [{ passStory: 'current' }] });
    const empty = join(sb().root, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    const bare = await sb().ralph(startArgs(without, ['--notify']), { env: { PATH: empty } });
    expect(bare.exitCode).toBe(0);
    expect((await sb().ralph(['wait', 'w-no-notify'])).exitCode).toBe(0);
    const session = sb().session('w-no-notify');
    const runnerLog = readFileSync(join(sessionDir(sb().paths, session), 'runner.log'), 'utf8');
    expect(runnerLog.match(/notify-send is not on PATH/g)).toHaveLength(1);
  }, 60_000);

  it('ralph status shows a loop waiting on a rate limit with the time it resumes', async () => {
    const task = sb().makeTask('w-limited', {
      script: [{ usageLimit: { resetInMs: 3_600_000 } }, { exit: 1 }],
    });
    await sb().start(task);
    await waitFor(() => sb().session('w-limited').status === 'waiting', 'the loop to wait');
    const until = new Date(sb().session('w-limited').waitingUntil!);
    const two = (n: number) => String(n).padStart(2, '0');
    const hm = `${two(until.getHours())}:${two(until.getMinutes())}`;
    // An hour from now may fall after midnight, where the line carries the date as well.
    const day = `${until.getFullYear()}-${two(until.getMonth() + 1)}-${two(until.getDate())}`;
    const status = await sb().ralph(['status', 'w-limited'], { env: { NO_COLOR: '1' } });
    const today = until.toDateString() === new Date().toDateString();
    const shown = today ? hm : `${day} ${hm}`;
    expect(status.stdout).toMatch(new RegExp(`w-limited\\s+local\\s+waiting until ${shown}\\s`));
    await sb().ralph(['stop', 'w-limited']);
    expect((await sb().ralph(['wait', 'w-limited'])).exitCode).toBe(12);
  }, 60_000);
});
