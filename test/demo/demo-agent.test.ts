import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import * as pty from 'node-pty';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getAgent } from '../../src/loop/agents/index.js';
import { loadPrd } from '../../src/loop/prd.js';
import { createSampleTask } from '../../src/demo/sample-task.js';
import { SAMPLE_BRANCH } from '../../src/demo/sample-files.js';

const REPO = join(import.meta.dirname, '..', '..');
const DEMO_AGENT = join(REPO, 'dist', 'src', 'demo', 'demo-agent.js');
const PROMISE = '<promise>COMPLETE</promise>';

function runDemo(taskDir: string, env: Record<string, string> = {}) {
  return execa(process.execPath, [DEMO_AGENT, '--task-dir', taskDir], {
    env: { RALPH_DEMO_SPEED: '0', NO_COLOR: '1', ...env },
    reject: false,
    timeout: 30_000,
  });
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await execa('git', args, { cwd })).stdout.trim();
}

describe('demo agent (built)', () => {
  let parent: string;
  beforeAll(() => {
    if (!existsSync(DEMO_AGENT)) {
      throw new Error(
        `${DEMO_AGENT} is missing: the demo tests run the built demo agent; run \`npm run build\` first`,
      );
    }
  });
  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'ralph-demo-test-'));
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('createSampleTask makes a committed git repo with a valid four-story task', async () => {
    const { taskDir } = await createSampleTask(parent);
    expect(taskDir).toMatch(new RegExp(`^${parent}/ralph-demo-[^/]+/demo-todo-app$`));
    const prd = loadPrd(join(taskDir, 'prd.json'));
    expect(prd.schema).toBe('original');
    expect(prd.branchName).toBe(SAMPLE_BRANCH);
    expect(prd.stories.map((s) => [s.id, s.priority, s.passes])).toEqual([
      ['US-001', 1, false],
      ['US-002', 2, false],
      ['US-003', 3, false],
      ['US-004', 4, false],
    ]);
    for (const file of ['prompt.md', 'progress.txt', 'README.md', 'package.json']) {
      expect(existsSync(join(taskDir, file))).toBe(true);
    }
    expect(await git(taskDir, 'status', '--porcelain')).toBe('');
    expect(await git(taskDir, 'log', '--format=%s')).toBe('Initial commit: demo todo app skeleton');
    expect(await git(taskDir, 'config', 'user.email')).toBe('demo@ralph.invalid');
  });

  it('completes the sample task one story per run, committing each, then promises completion', async () => {
    const { taskDir } = await createSampleTask(parent);
    const outputs: string[] = [];
    for (let i = 1; i <= 6 && !outputs.some((o) => o.includes(PROMISE)); i++) {
      const run = await runDemo(taskDir, { RALPH_ITERATION: String(i) });
      expect(run.exitCode, run.stderr).toBe(0);
      outputs.push(run.stdout);
      const prd = loadPrd(join(taskDir, 'prd.json'));
      expect(prd.stories.filter((s) => s.passes)).toHaveLength(i);
      expect(readFileSync(join(taskDir, 'src', `us-00${i}.js`), 'utf8')).toContain(
        `US-00${i}: ${prd.stories[i - 1]!.title}`,
      );
      expect(await git(taskDir, 'status', '--porcelain')).toBe('');
    }
    expect(outputs).toHaveLength(4);
    expect(outputs.slice(0, 3).some((o) => o.includes(PROMISE))).toBe(false);
    expect(outputs[0]).toContain('iteration 1');
    expect(outputs[0]).toContain('Next up is US-001: Add a todo item model.');
    expect(outputs[0]).toContain('Write(src/us-001.js)');
    expect(outputs[3]).toContain('All 4 stories pass.');
    expect(outputs[3]).toContain(PROMISE);
    expect(await git(taskDir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(SAMPLE_BRANCH);
    expect((await git(taskDir, 'log', '--format=%s')).split('\n')).toEqual([
      'feat: US-004 - Mark a todo as done',
      'feat: US-003 - List open todos',
      'feat: US-002 - Add todos from the command line',
      'feat: US-001 - Add a todo item model',
      'Initial commit: demo todo app skeleton',
    ]);
    const progress = readFileSync(join(taskDir, 'progress.txt'), 'utf8');
    expect(progress.match(/^## \d{4}-\d\d-\d\d \d\d:\d\d - US-00\d$/gm)).toHaveLength(4);

    const again = await runDemo(taskDir);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('Every story already passes');
    expect(again.stdout).toContain(PROMISE);
  });

  it('runs through the demo adapter command line', async () => {
    const { taskDir } = await createSampleTask(parent);
    const cmd = getAgent('demo').buildCommand({
      prompt: 'p',
      promptFile: join(parent, 'p.md'),
      taskDir,
      cwd: taskDir,
    });
    expect(cmd.args[0]).toBe(DEMO_AGENT);
    const run = await execa(cmd.file, cmd.args, {
      cwd: cmd.cwd,
      env: { RALPH_DEMO_SPEED: '0' },
      timeout: 30_000,
    });
    expect(run.stdout).toContain('US-001');
    expect(loadPrd(join(taskDir, 'prd.json')).stories[0]?.passes).toBe(true);
    expect(await getAgent('demo').detect()).toEqual({
      installed: true,
      version: process.versions.node,
      path: DEMO_AGENT,
    });
  });

  it('shows colour and a spinner in a terminal, and plain text with NO_COLOR', async () => {
    const { taskDir } = await createSampleTask(parent);
    const term = pty.spawn(process.execPath, [DEMO_AGENT, '--task-dir', taskDir], {
      env: { PATH: process.env.PATH ?? '', RALPH_DEMO_SPEED: '20' },
      cwd: taskDir,
    });
    let output = '';
    term.onData((d) => {
      output += d;
    });
    const exit = await new Promise<number>((resolve) => {
      const guard = setTimeout(() => term.kill('SIGKILL'), 20_000);
      term.onExit(({ exitCode }) => {
        clearTimeout(guard);
        resolve(exitCode);
      });
    });
    expect(exit).toBe(0);
    expect(output).toContain('\x1b[36m');
    expect(output).toContain('\r\x1b[35m⠙');
    const plain = await runDemo(taskDir);
    expect(plain.stdout).not.toContain('\x1b[');
    expect(plain.stdout).toContain('US-002');
  });

  it('works in a task folder outside git, without committing', async () => {
    const taskDir = join(parent, 'loose');
    const { taskDir: sample } = await createSampleTask(parent);
    await execa('cp', ['-r', sample, taskDir]);
    rmSync(join(taskDir, '.git'), { recursive: true, force: true });
    const run = await runDemo(taskDir);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).not.toContain('git commit');
    expect(existsSync(join(taskDir, 'src', 'us-001.js'))).toBe(true);
    expect(loadPrd(join(taskDir, 'prd.json')).stories[0]?.passes).toBe(true);
  });

  it('fails with exit code 1 and a clear message on a broken prd.json', async () => {
    const taskDir = join(parent, 'broken');
    await execa('mkdir', [taskDir]);
    writeFileSync(join(taskDir, 'prd.json'), '{ "project": "P", }');
    const run = await runDemo(taskDir);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      `demo agent: ${join(taskDir, 'prd.json')}: invalid JSON at line 1, column 19`,
    );
  });
});
