/**
 * Tokens, cost and budgets through the built CLI: a detached loop with `--max-cost` ends budget_exceeded,
 * `ralph status` shows what it spent, `ralph logs --transcript` prints an iteration's transcript.
 */
import { describe, expect, it } from 'vitest';
import { useCliSandbox } from './harness.js';

const sb = useCliSandbox();

const claudeStream = [{ replay: { file: 'claude-basic.ndjson', costUsd: 0.02 } }];

describe('usage and budgets from the command line', () => {
  it('--max-cost ends the loop budget_exceeded; status and logs --transcript show the figures', async () => {
    const task = sb().makeTask('spender', { script: claudeStream });
    await sb().start(task, ['--stream-format', 'claude', '--max-cost', '0.05', '-n', '10']);
    const ended = await sb().waitForSession(
      'spender',
      (s) => s.status === 'budget_exceeded',
      'budget_exceeded',
    );
    expect(ended.exitReason).toBe('cost budget passed: $0.0600 spent, limit $0.0500');
    expect(ended.iteration).toBe(3);

    const status = await sb().ralph(['status', 'spender']);
    expect(status.exitCode, status.stderr).toBe(0);
    console.log(status.stdout);
    expect(status.stdout).toMatch(/COST\s+TOKENS/);
    expect(status.stdout).toMatch(/spender .*budget_exceeded.*\$0\.0600\s+70\.2k/);

    const json = await sb().ralph(['status', 'spender', '--json']);
    const parsed = JSON.parse(json.stdout) as {
      sessions: { usage: { costUsd: number; outputTokens: number } }[];
    };
    expect(parsed.sessions[0]?.usage.costUsd).toBeCloseTo(0.06, 10);
    expect(parsed.sessions[0]?.usage.outputTokens).toBe(3 * 112);

    const logs = await sb().ralph(['logs', 'spender', '--transcript', '--iteration', '2']);
    expect(logs.exitCode, logs.stderr).toBe(0);
    console.log(logs.stdout);
    expect(logs.stdout).toContain('iteration 2 (claude) · $0.0200 · 23.3k in (11.5k cached) / 112 out');
    expect(logs.stdout).toContain('▸ Bash npm test');
    expect(logs.stdout).toContain('All 12 tests pass. The story is done.');
    expect(logs.stdout).not.toContain('{"');
    expect(logs.stdout).not.toContain('\x1b[');

    const last = await sb().ralph(['logs', 'spender', '--transcript', '--json']);
    expect(JSON.parse(last.stdout)).toMatchObject({ iteration: 3, format: 'claude' });

    const none = await sb().ralph(['logs', 'spender', '--transcript', '--iteration', '9']);
    expect(none.exitCode).not.toBe(0);
    expect(none.stderr).toContain('loop spender has no iteration 9');
  });

  it.each([
    [['--max-cost', '-1'], '--max-cost must be a number of at least 0, got "-1"'],
    [['--max-cost', '0'], '--max-cost must be a positive amount of US dollars, got 0'],
    [['--max-tokens', '1.5'], '--max-tokens must be a whole number of at least 1, got "1.5"'],
    [['--stream-format', 'yaml'], '--stream-format must be one of claude, codex'],
  ])('refuses %j as a usage error', async (extra, message) => {
    const task = sb().makeTask('bad-options');
    const result = await sb().ralph([
      'start',
      task.dir,
      '--agent',
      'custom',
      '--agent-cmd',
      task.agentCmd,
      ...extra,
    ]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
