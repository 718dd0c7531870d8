/**
 * A detached loop through the plain (non-terminal) commands: start, status (table and JSON), peek, inject,
 * stop, and prune. The fake agent's first iteration waits at a gate nobody opens, so the loop stays running.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../src/registry/index.js';
import { isAlive } from '../../src/util/proc.js';
import { BUNDLES, ensureCliBuilt } from './built.js';
import { CliSandbox, sessionIdOf, startArgs, waitFor, type TaskFolder } from './harness.js';

let sb: CliSandbox;
let life: TaskFolder;
let second: TaskFolder;
const waiting = {
  iterations: [[{ print: 'LIFE one' }, { echo: { until: 'go\r', timeoutMs: 60_000 } }]],
  steps: [{ print: 'LIFE two' }, { hang: true }],
};

beforeAll(async () => {
  await ensureCliBuilt();
  sb = new CliSandbox();
  life = sb.makeTask('life', { stories: 2, script: waiting });
  second = sb.makeTask('second', { script: [{ print: 'SECOND' }, { hang: true }] });
});
afterAll(async () => {
  await sb.dispose();
});

const statusJson = async (...args: string[]): Promise<SessionRecord[]> => {
  const result = await sb.ralph(['status', '--json', ...args]);
  expect(result.exitCode).toBe(0);
  return (JSON.parse(result.stdout) as { sessions: SessionRecord[] }).sessions;
};

describe('a detached loop', () => {
  let runnerPid = 0;

  it('start launches a runner in its own session and returns at once', async () => {
    const agentArgs = [
      '--agent',
      'custom',
      '--agent-cmd',
      life.agentCmd,
      '--iteration-timeout',
      '0',
      '--idle-timeout',
      '0',
    ];
    const result = await sb.ralph(['start', life.dir, ...agentArgs]);
    expect(result.exitCode, result.stderr).toBe(0);
    const started = /^started life \(runner pid (\d+), agent custom\)$/m.exec(result.stdout);
    expect(started, result.stdout).not.toBeNull();
    expect(result.stdout).toContain('watch it: ralph attach life');
    runnerPid = Number(started![1]);
    expect(isAlive(runnerPid)).toBe(true);
    expect(sessionIdOf(runnerPid)).toBe(runnerPid);
    // The runner is the bundle the build made: one module graph, not hundreds of files, in every loop's memory.
    const argv = readFileSync(`/proc/${runnerPid}/cmdline`, 'utf8').split('\0');
    expect(argv[1]).toBe(BUNDLES.find((file) => file.endsWith('runner.js')));
  });

  it('start --json prints the registry entry', async () => {
    const result = await sb.ralph(startArgs(second, ['--json']));
    expect(result.exitCode, result.stderr).toBe(0);
    const entry = JSON.parse(result.stdout) as SessionRecord;
    expect(entry).toMatchObject({
      task: 'second',
      status: 'running',
      agent: 'custom',
      location: 'local',
      transport: 'unix',
    });
    expect(entry.address.startsWith(sb.home)).toBe(true);
  });

  it('status lists the loops as a table and as JSON', async () => {
    await sb.waitForSession(
      'life',
      (s) => s.currentStory === 'US-001' && s.iteration === 1,
      'iteration 1 of life',
    );
    const table = await sb.ralph(['status']);
    expect(table.exitCode).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TASK\s+WHERE\s+STATUS\s+ITER\s+STORY\s+AGENT\s+COST\s+TOKENS\s+AGE\s+NOTE$/);
    // A plain-text agent reports no usage: cost and tokens show as '-'.
    expect(lines).toContainEqual(
      expect.stringMatching(/^life\s+local\s+running\s+1\/10\s+US-001\s+custom\s+-\s+-\s+\d+[smhd]/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^second\s+local\s+running\s+\d+\/10\s+US-001\s+custom/),
    );

    const sessions = await statusJson();
    expect(sessions.map((s) => s.task).sort()).toEqual(['life', 'second']);
    expect(sessions.find((s) => s.task === 'life')).toMatchObject({
      status: 'running',
      pid: runnerPid,
      iteration: 1,
    });
    const only = await statusJson('life');
    expect(only.map((s) => s.task)).toEqual(['life']);
  });

  it('peek prints the screen, --json its cells as lines', async () => {
    const screen = await waitFor(async () => {
      const result = await sb.ralph(['peek', 'life']);
      return result.exitCode === 0 && result.stdout.includes('ECHO:READY') ? result.stdout : null;
    }, 'the gate on the screen');
    expect(screen).toContain('ralph: iteration 1/10');
    expect(screen).toContain('LIFE one');
    expect(screen.endsWith('ECHO:READY\n')).toBe(true);

    const json = await sb.ralph(['peek', 'life', '--json']);
    expect(json.exitCode).toBe(0);
    const peek = JSON.parse(json.stdout) as {
      cols: number;
      rows: number;
      lines: string[];
      cursor: { x: number; y: number };
    };
    // Started without a terminal: the loop's default size.
    expect(peek).toMatchObject({ cols: 120, rows: 40 });
    expect(peek.lines).toHaveLength(40);
    expect(peek.lines).toContain('LIFE one');
  });

  it('inject queues text for the next iteration', async () => {
    const result = await sb.ralph(['inject', 'life', 'Check the tags table first']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('queued for the next iteration of life\n');
  });

  it('stop ends the loop and the runner; logs --follow ends with it', async () => {
    const following = sb.ralph(['logs', 'life', '--follow']);
    const result = await sb.ralph(['stop', 'life']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('life: stopped\n');
    const followed = await following;
    expect(followed.exitCode, followed.stderr).toBe(0);
    expect(followed.timedOut).toBe(false);
    expect(followed.stdout).toContain('LIFE one');
    expect(followed.stdout).toContain('loop stopped');
    const [row] = await statusJson('life');
    expect(row).toMatchObject({ status: 'stopped', exitReason: 'stopped on request' });
    await waitFor(() => !isAlive(runnerPid), 'the runner to exit');

    const json = await sb.ralph(['stop', 'second', '--force', '--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ task: 'second', status: 'stopped' });
  });

  it('stop of an ended or unknown task exits 3 with one line', async () => {
    const again = await sb.ralph(['stop', 'life']);
    expect(again.exitCode).toBe(3);
    expect(again.stderr.split('\n')[0]).toBe('ralph: loop life has ended (stopped: stopped on request)');

    const unknown = await sb.ralph(['stop', 'ghost']);
    expect(unknown.exitCode).toBe(3);
    const [line, hint] = unknown.stderr.trimEnd().split('\n');
    expect(line).toBe('ralph: no loop named "ghost" in the registry');
    expect(hint).toMatch(/^known tasks: (life, second|second, life)$/);

    const inject = await sb.ralph(['inject', 'life', 'too late']);
    expect(inject.exitCode).toBe(3);
  });

  it('prune --dry-run --json lists the ended sessions and keeps them', async () => {
    const result = await sb.ralph(['prune', '--dry-run', '--json']);
    expect(result.exitCode).toBe(0);
    const out = JSON.parse(result.stdout) as { pruned: SessionRecord[]; dryRun: boolean };
    expect(out.dryRun).toBe(true);
    expect(out.pruned.map((s) => s.task).sort()).toEqual(['life', 'second']);
    expect(await statusJson()).toHaveLength(2);
    for (const s of out.pruned) expect(existsSync(sb.sessionDir(s))).toBe(true);

    const recent = await sb.ralph(['prune', '--older-than', '7d', '--json']);
    expect(recent.exitCode).toBe(0);
    expect(JSON.parse(recent.stdout)).toEqual({ pruned: [], dryRun: false });
  });

  it('prune deletes the ended sessions and their logs', async () => {
    const rows = await statusJson();
    const result = await sb.ralph(['prune']);
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('pruned 2 sessions');
    expect(lines.slice(1).sort()).toEqual(rows.map((s) => `  ${s.task} #${s.id} (stopped)`).sort());
    for (const s of rows) expect(existsSync(sb.sessionDir(s))).toBe(false);

    const status = await sb.ralph(['status']);
    expect(status.stdout).toBe('no loops yet — start one with: ralph start <task-dir>\n');
  });
});
