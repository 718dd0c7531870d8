/**
 * `ralph start` refusing to start: a bad task folder (7), a missing agent (6), a task already running (4) and
 * hostile task names (2). Each error is one line naming what is wrong, and nothing is created outside RALPH_HOME.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt } from './built.js';
import { CliSandbox, type TaskFolder } from './harness.js';

let sb: CliSandbox;
let good: TaskFolder;
beforeAll(async () => {
  await ensureCliBuilt();
  sb = new CliSandbox();
  good = sb.makeTask('good', { script: [{ print: 'GOOD' }, { hang: true }] });
});
afterAll(async () => {
  await sb.dispose();
});

const custom = (task: TaskFolder): string[] => ['--agent', 'custom', '--agent-cmd', task.agentCmd];

function firstLine(stderr: string): string {
  return stderr.split('\n')[0] ?? '';
}

describe('start with a bad task folder exits 7', () => {
  it('a folder that does not exist', async () => {
    const missing = join(sb.root, 'tasks', 'nowhere');
    const result = await sb.ralph(['start', missing, ...custom(good)]);
    expect(result.exitCode).toBe(7);
    expect(firstLine(result.stderr)).toBe(`ralph: task folder ${missing} does not exist`);
    expect(existsSync(missing)).toBe(false);
  });

  it('a folder without prd.json', async () => {
    const dir = join(sb.root, 'tasks', 'noprd');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'prompt.md'), 'work\n');
    const result = await sb.ralph(['start', dir, ...custom(good)]);
    expect(result.exitCode).toBe(7);
    expect(firstLine(result.stderr)).toBe(`ralph: task folder ${dir} has no prd.json`);
  });

  it('a prd.json that is not JSON names the file, line and column', async () => {
    const task = sb.makeTask('brokenjson');
    writeFileSync(join(task.dir, 'prd.json'), '{\n  "userStories": [\n');
    const result = await sb.ralph(['start', task.dir, ...custom(task)]);
    expect(result.exitCode).toBe(7);
    expect(firstLine(result.stderr)).toMatch(
      new RegExp(`^ralph: ${join(task.dir, 'prd.json')}: invalid JSON at line \\d+, column \\d+`),
    );
  });

  it('a prd.json with a wrong field names the file and the JSON path', async () => {
    const task = sb.makeTask('badfield');
    const prd = {
      project: 'P',
      branchName: 'b',
      description: 'd',
      userStories: [
        { id: 'US-001', title: 't', description: 'd', acceptanceCriteria: [], priority: 1, passes: 'yes' },
      ],
    };
    writeFileSync(join(task.dir, 'prd.json'), JSON.stringify(prd));
    const result = await sb.ralph(['start', task.dir, ...custom(task)]);
    expect(result.exitCode).toBe(7);
    expect(firstLine(result.stderr)).toContain(`${join(task.dir, 'prd.json')}: userStories[0].passes`);
    expect(result.stderr).toMatch(/expected a boolean/);
    expect(sb.sessions()).toEqual([]);
  });
});

describe('start with a missing agent exits 6', () => {
  it('names the agent and the installed ones in one line', async () => {
    // Only node's own folder on PATH: no codex anywhere.
    const result = await sb.ralph(['start', good.dir, '--agent', 'codex'], {
      env: { PATH: dirname(process.execPath) },
    });
    expect(result.exitCode).toBe(6);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      /^ralph: agent 'codex' is not installed; installed agents: [a-z, ]*demo[a-z, ]* \(install codex with: .+\)$/m,
    );
  });

  it('a custom command whose program does not exist', async () => {
    const result = await sb.ralph([
      'start',
      good.dir,
      '--agent',
      'custom',
      '--agent-cmd',
      'no-such-program-xyz {prompt}',
    ]);
    expect(result.exitCode).toBe(6);
    expect(result.stderr).toBe(
      "ralph: program 'no-such-program-xyz' of the --agent-cmd template is not installed\n" +
        'check the program name, or give its full path in the template\n',
    );
  });

  it('an unknown agent name is a usage error', async () => {
    const result = await sb.ralph(['start', good.dir, '--agent', 'robot']);
    expect(result.exitCode).toBe(2);
    expect(firstLine(result.stderr)).toMatch(/^ralph: unknown agent 'robot'; known agents: claude, codex/);
  });
});

describe('start of a task already running exits 4', () => {
  it('refuses a second loop on the same task', async () => {
    const first = await sb.start(good, ['--iteration-timeout', '0', '--idle-timeout', '0']);
    const again = await sb.ralph(['start', good.dir, ...custom(good)]);
    expect(again.exitCode).toBe(4);
    expect(firstLine(again.stderr)).toMatch(
      /^ralph: task 'good' is already active locally \(pid \d+, status running, session \d+\)$/,
    );
    expect(sb.sessions().filter((s) => s.task === 'good')).toHaveLength(1);
    expect(sb.session('good')).toMatchObject({ id: first.id, status: 'running' });
    expect((await sb.ralph(['stop', 'good', '--force'])).exitCode).toBe(0);
  });
});

describe('hostile task names exit 2 and create nothing outside RALPH_HOME', () => {
  const names = [
    '../../etc',
    '../escape',
    'a/b',
    '/abs',
    'has space',
    'x'.repeat(200),
    '.hidden',
    '',
    'tab\tname',
    'new\nline',
  ];

  it.each(names.map((n) => [JSON.stringify(n), n]))('--name %s', async (_label, name) => {
    // Where a name with '..' or '/' would land: beside or above the sockets, the session folders, the home.
    const places = [sb.root, sb.home, sb.paths.dataDir, sb.paths.loopsDir, sb.paths.runDir];
    const listing = (): string[][] => places.map((d) => (existsSync(d) ? readdirSync(d).sort() : []));
    const before = listing();
    const result = await sb.ralph(['start', good.dir, ...custom(good), '--name', name]);
    expect(result.exitCode).toBe(2);
    expect(firstLine(result.stderr)).toMatch(/^ralph: invalid task name /);
    expect(listing()).toEqual(before);
    expect(existsSync(join(sb.home, 'etc'))).toBe(false);
    expect(sb.sessions().filter((s) => s.task !== 'good')).toEqual([]);
  });

  it('a task folder whose own name is not a valid task name', async () => {
    const dir = join(sb.root, 'tasks', 'my task');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'prompt.md'), 'work\n');
    writeFileSync(
      join(dir, 'prd.json'),
      JSON.stringify({ project: 'P', branchName: 'b', description: 'd', userStories: [] }),
    );
    const result = await sb.ralph(['start', dir, ...custom(good)]);
    expect(result.exitCode).toBe(2);
    // The name came from the folder, not from --name: the error says so and how to name the task instead.
    expect(result.stderr).toBe(
      "ralph: the folder name \"my task\" cannot be a task name: use 1-64 letters, digits, '.', '_' or " +
        "'-', starting with a letter or digit\nname the task with --name, e.g. --name my-task\n",
    );
    rmSync(dir, { recursive: true, force: true });
  });
});
