/** `ralph demo` in a real terminal, attached to the end; then `status --json` and `logs` read what it left. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../src/registry/index.js';
import { useCliSandbox } from './harness.js';
import { plain } from './term.js';

const sb = useCliSandbox();

describe('ralph demo', () => {
  let task = '';

  it('runs attached to completion in a terminal and exits 0', async () => {
    const term = sb().term(['demo', '--speed', '0'], { cols: 100, rows: 30 });
    const exit = await term.exited('the demo to finish', 90_000);
    const screen = term.text();
    expect(exit.exitCode, screen.slice(-2000)).toBe(0);
    for (const story of ['US-001', 'US-002', 'US-003', 'US-004']) expect(screen).toContain(story);
    expect(screen).toContain('loop completed');
    expect(screen).toContain('4/4 stories pass');
    const named = /see it again: ralph logs (\S+)/.exec(screen);
    expect(named).not.toBeNull();
    task = named![1]!;
  });

  it('leaves a completed session that status --json reports', async () => {
    expect(task).not.toBe('');
    const result = await sb().ralph(['status', '--json']);
    expect(result.exitCode).toBe(0);
    const { sessions } = JSON.parse(result.stdout) as { sessions: SessionRecord[] };
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({
      task,
      agent: 'demo',
      status: 'completed',
      iteration: 4,
      maxIterations: 8,
    });
    expect(existsSync(sessions[0]!.taskDir)).toBe(true);
    expect(sessions[0]!.taskDir.startsWith(sb().root)).toBe(true);

    const table = await sb().ralph(['status']);
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${task}\\s+local\\s+completed\\s+4/8`));
  });

  it('ralph logs prints every iteration, --iteration 1 only the first', async () => {
    const all = await sb().ralph(['logs', task]);
    expect(all.exitCode).toBe(0);
    const text = plain(all.stdout);
    for (let n = 1; n <= 4; n++) expect(text).toContain(`iteration ${n} ended`);
    expect(text).toContain('loop completed: all stories pass');

    const first = await sb().ralph(['logs', task, '--iteration', '1']);
    expect(first.exitCode).toBe(0);
    const one = plain(first.stdout);
    expect(one).toContain('iteration 1 ended');
    expect(one).toContain('US-001');
    expect(one).not.toContain('iteration 2 ended');
    expect(one).not.toContain('US-002: ');
    expect(first.stdout.length).toBeLessThan(all.stdout.length);
    expect(all.stdout).toContain(first.stdout);

    const missing = await sb().ralph(['logs', task, '--iteration', '9']);
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toContain(`loop ${task} has no iteration 9`);
  });

  it('commands that need a live loop say it has ended', async () => {
    const peek = await sb().ralph(['peek', task]);
    expect(peek.exitCode).toBe(3);
    expect(peek.stderr).toContain(`loop ${task} has ended (completed`);
  });
});
