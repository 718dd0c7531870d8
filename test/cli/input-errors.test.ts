/**
 * Bad input gets one clear line and the documented exit code, never a stack trace or a hang: inject text,
 * a RALPH_HOME or registry folder that cannot be used, a socket path taken by another process, a closed
 * stdout, attach past the end of the log, and options yargs would misread or accept silently.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_MAIN, ensureCliBuilt } from './built.js';
import { CliSandbox, startArgs, type TaskFolder } from './harness.js';

let sb: CliSandbox;
let running: TaskFolder;
beforeAll(async () => {
  await ensureCliBuilt();
  sb = new CliSandbox();
  running = sb.makeTask('running', { script: [{ print: 'RUNNING' }, { hang: true }] });
  await sb.start(running, ['--idle-timeout', '0', '--iteration-timeout', '0']);
}, 60_000);
afterAll(async () => {
  await sb.dispose();
});

/** `ralph <args>` with `input` on stdin. */
async function withInput(
  args: string[],
  input: string,
): Promise<{ exitCode?: number; stdout: string; stderr: string }> {
  const result = await execa(process.execPath, [CLI_MAIN, ...args], {
    cwd: sb.root,
    env: sb.env,
    extendEnv: false,
    input,
    reject: false,
    timeout: 20_000,
  });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

describe('inject', () => {
  it('refuses empty text with a usage error', async () => {
    const result = await sb.ralph(['inject', 'running', '']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(
      'ralph: inject: the text is empty\ngive the instructions as an argument, or - to read them from stdin\n',
    );
  });

  it('reads the text from stdin with -, and refuses text over 64 KiB with a usage error', async () => {
    const ok = await withInput(['inject', 'running', '-'], 'Run the tests first.\n');
    expect(ok).toMatchObject({ exitCode: 0, stdout: 'queued for the next iteration of running', stderr: '' });
    const big = await withInput(['inject', 'running', '-'], 'x'.repeat(64 * 1024 + 1));
    expect(big.exitCode).toBe(2);
    expect(big.stderr.split('\n')[0]).toBe(
      'ralph: inject: the text is longer than 65536 bytes, the most one injection holds',
    );
  });
});

describe('folders ralph cannot use', () => {
  it('RALPH_HOME naming a file is REGISTRY_UNAVAILABLE (exit 5) in one line', async () => {
    const file = join(sb.root, 'a-file');
    writeFileSync(file, 'not a folder\n');
    for (const args of [['status'], startArgs(running)]) {
      const result = await sb.ralph(args, { env: { RALPH_HOME: file } });
      expect(result.exitCode).toBe(5);
      expect(result.stderr).toBe(
        `ralph: cannot use registry folder ${join(file, 'data')}: a file is in the way of this folder\n` +
          'RALPH_HOME (or XDG_DATA_HOME) must name a folder, not a file\n',
      );
    }
  });

  it('a registry folder of another user is REGISTRY_UNAVAILABLE (exit 5) in one line', async (ctx) => {
    if (process.getuid?.() !== 0) {
      console.warn('SKIPPED: needs root to run ralph as another user (nobody)');
      ctx.skip();
    }
    // A folder nobody may enter but not change: root's, mode 0700, inside a folder anyone may enter.
    const outer = mkdtempSync(join(tmpdir(), 'rcli-other-'));
    sb.defer(() => rmSync(outer, { recursive: true, force: true }));
    chmodSync(outer, 0o755);
    const home = join(outer, 'home');
    mkdirSync(join(home, 'data'), { recursive: true });
    chmodSync(home, 0o755);
    chmodSync(join(home, 'data'), 0o000);
    const result = await execa(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI_MAIN, 'status'],
      { cwd: outer, env: { ...sb.env, RALPH_HOME: home, TMPDIR: outer }, extendEnv: false, reject: false },
    );
    // One line naming the folder (and at most a hint), never a stack trace.
    expect(result.exitCode).toBe(5);
    const lines = result.stderr.split('\n');
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(lines[0]).toMatch(new RegExp(`^ralph: .*${join(home, 'data')}`));
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('a socket path taken by another process', () => {
  it('start exits 4 with the real reason, not a runner log tail', async () => {
    const task = sb.makeTask('taken', { script: [{ hang: true }] });
    mkdirSync(sb.paths.runDir, { recursive: true, mode: 0o700 });
    const path = join(sb.paths.runDir, 'taken.sock');
    const squatter: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(path, resolve));
    try {
      const result = await sb.ralph(startArgs(task));
      expect(result.exitCode).toBe(4);
      expect(result.stderr).toBe(
        `ralph: another process is already listening on ${path}\n` +
          'stop that process first, or use another task name\n',
      );
      expect(sb.session('taken')).toMatchObject({
        status: 'failed',
        exitReason: `another process is already listening on ${path}`,
      });
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('start --foreground exits 4 and records why, leaving no row starting', async () => {
    const task = sb.makeTask('taken-fg', { script: [{ hang: true }] });
    mkdirSync(sb.paths.runDir, { recursive: true, mode: 0o700 });
    const path = join(sb.paths.runDir, 'taken-fg.sock');
    const squatter: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(path, resolve));
    try {
      const result = await sb.ralph([...startArgs(task), '--foreground']);
      expect(result.exitCode).toBe(4);
      expect(result.stderr.split('\n')[0]).toBe(`ralph: another process is already listening on ${path}`);
      expect(sb.session('taken-fg')).toMatchObject({
        status: 'failed',
        exitReason: `another process is already listening on ${path}`,
      });
      // The task is free again for a start that can listen.
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});

describe('output to a reader that went away', () => {
  it('start with a closed stdout (| head -1) exits without a stack trace', async () => {
    const task = sb.makeTask('piped', { script: [{ hang: true }] });
    const child = execa(process.execPath, [CLI_MAIN, ...startArgs(task)], {
      cwd: sb.root,
      env: sb.env,
      extendEnv: false,
      stdin: 'ignore',
      reject: false,
      timeout: 30_000,
    });
    child.stdout.destroy();
    const result = await child;
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(sb.session('piped').status).toBe('running');
    await sb.ralph(['stop', 'piped', '--force']);
  });
});

describe('attach', () => {
  it('--from past the end of the log exits with the usage code instead of hanging', async () => {
    const result = await sb.ralph(['attach', 'running', '--from', '99999999'], { timeoutMs: 15_000 });
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^ralph: offset 99999999 is past the end of the log \(\d+\)\n$/);
  });
});

describe('options', () => {
  it('a word like -dash is refused in one line; after -- it is a folder', async () => {
    const refused = await sb.ralph(['start', '-dash']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      'ralph: unknown option -dash\na folder or text that starts with - goes after --, as in: ralph start -- -dash\n',
    );
    const task = sb.makeTask('-dash', { script: [{ hang: true }] });
    const started = await execa(
      process.execPath,
      [CLI_MAIN, 'start', '--agent', 'custom', '--agent-cmd', task.agentCmd, '--name', 'dash', '--', '-dash'],
      { cwd: join(sb.root, 'tasks'), env: sb.env, extendEnv: false, reject: false, timeout: 30_000 },
    );
    expect(started.stderr).toBe('');
    expect(started.exitCode).toBe(0);
    expect(sb.session('dash')).toMatchObject({ status: 'running', taskDir: task.dir });
    await sb.ralph(['stop', 'dash', '--force']);
  });

  it.each([
    [['demo', '--speed', 'abc'], 'ralph: --speed must be a number of at least 0, got "abc"'],
    [['demo', '--speed', '-5'], 'ralph: --speed must be a number of at least 0, got "-5"'],
    [['start', '.', '-n', 'abc'], 'ralph: --max-iterations must be a whole number of at least 1, got "abc"'],
    [
      ['start', '.', '--max-failures', '0'],
      'ralph: --max-failures must be a whole number of at least 1, got "0"',
    ],
    [
      ['logs', 'running', '--iteration', 'abc'],
      'ralph: --iteration must be a whole number of at least 1, got "abc"',
    ],
    [['start', '.', '--foreground', '--attach'], 'ralph: --foreground and --attach do not go together'],
    [
      ['start', '.', '--agent', 'demo', '--agent-cmd', 'x'],
      'ralph: --agent-cmd is for --agent custom, not --agent demo',
    ],
  ])('%j is a usage error', async (args, line) => {
    const result = await sb.ralph(args, { timeoutMs: 15_000 });
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(line);
  });

  it('a loop of one iteration ends with "the limit of 1 iteration"', async () => {
    const task = sb.makeTask('once', { script: [{ print: 'once' }] });
    await sb.start(task, ['-n', '1']);
    const ended = await sb.waitForSession('once', (s) => s.status === 'exhausted', 'the loop to end');
    expect(ended.exitReason).toBe('reached the limit of 1 iteration');
  });
});
