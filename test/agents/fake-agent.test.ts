import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentProcess } from '../../src/loop/agent-process.js';
import { loadPrd } from '../../src/loop/prd.js';

const FAKE_AGENT = join(import.meta.dirname, '..', 'fixtures', 'fake-agent.mjs');
const PRD_FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'prd', 'original.json');

interface Run {
  output: string;
  exitCode: number;
  signal: number;
}

interface RunOptions {
  env?: Record<string, string>;
  args?: string[];
  /** Called with the output so far on every chunk; may write to the terminal. */
  onData?: (output: string, agent: AgentProcess) => void;
  /** Kill the agent (SIGTERM) once the output contains this. */
  killWhen?: string;
  /** After the exit, wait for this text to arrive (bulk output may still be in flight). */
  waitFor?: string;
}

/**
 * Runs the fake agent under a real PTY through the runner's own AgentProcess (which reads the PTY dry
 * before it reports the exit, so no output is lost); bounded: killed after 15 s. The result waits after
 * the exit (at most 5 s) for `waitFor`, or else for the output to go quiet for 100 ms.
 */
function runAgent(opts: RunOptions = {}): Promise<Run> {
  const agent = new AgentProcess({
    file: process.execPath,
    args: [FAKE_AGENT, ...(opts.args ?? [])],
    cols: 120,
    rows: 30,
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '', ...opts.env },
  });
  let output = '';
  return new Promise((resolve) => {
    const guard = setTimeout(() => agent.signal('SIGKILL'), 15_000);
    let killed = false;
    let lastData = Date.now();
    agent.on('data', (chunk) => {
      output += chunk.toString('utf8');
      lastData = Date.now();
      opts.onData?.(output, agent);
      if (opts.killWhen !== undefined && !killed && output.includes(opts.killWhen)) {
        killed = true;
        agent.signal('SIGTERM');
      }
    });
    agent.once('exit', ({ exitCode, signal }) => {
      clearTimeout(guard);
      const exitedAt = Date.now();
      const signalNumber =
        signal === null ? 0 : ((constants.signals as Record<string, number>)[signal] ?? -1);
      const settle = () => {
        const now = Date.now();
        const complete = opts.waitFor === undefined ? now - lastData >= 100 : output.includes(opts.waitFor);
        if (complete || now - exitedAt >= 5000)
          resolve({ output, exitCode: exitCode ?? 0, signal: signalNumber });
        else setTimeout(settle, 25);
      };
      setTimeout(settle, 25);
    });
  });
}

describe('fake agent under a real PTY', () => {
  let dir: string;
  const script = (steps: unknown, name = 'script.json') => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(steps));
    return file;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ralph-fake-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('without a script prints one line and exits 0', async () => {
    expect(await runAgent()).toEqual({
      output: 'fake agent: iteration 1, no script\r\n',
      exitCode: 0,
      signal: 0,
    });
  });

  it('prints text, the completion promise and rate-limit text', async () => {
    const file = script([
      { print: 'working' },
      { print: 'no newline ', newline: false },
      { sleep: 20 },
      { silence: 20 },
      { rateLimit: true },
      { rateLimit: { retryAfter: 5 } },
      { promise: true },
    ]);
    const run = await runAgent({ args: ['--script', file], env: { RALPH_ITERATION: '1' } });
    expect(run).toEqual({
      output:
        'working\r\nno newline Error: 429 rate limit exceeded, retry after 30s\r\n' +
        'Error: 429 rate limit exceeded, retry after 5s\r\n<promise>COMPLETE</promise>\r\n',
      exitCode: 0,
      signal: 0,
    });
  });

  it('picks steps by RALPH_ITERATION, falling back to the default steps', async () => {
    const file = script({
      iterations: [
        [{ print: 'first' }],
        [{ print: 'second' }, { printEnv: ['RALPH_ITERATION', 'RALPH_STORY'] }],
      ],
      steps: [{ print: 'later' }],
    });
    const env = (n: number) => ({
      FAKE_AGENT_SCRIPT: file,
      RALPH_ITERATION: String(n),
      RALPH_STORY: 'US-002',
    });
    expect((await runAgent({ env: env(1) })).output).toBe('first\r\n');
    expect((await runAgent({ env: env(2) })).output).toBe(
      'second\r\nENV:RALPH_ITERATION=2\r\nENV:RALPH_STORY=US-002\r\n',
    );
    expect((await runAgent({ env: env(7) })).output).toBe('later\r\n');
  });

  it('counts iterations in a file next to the script when RALPH_ITERATION is not set', async () => {
    const file = script({ iterations: [[{ print: 'one' }], [{ print: 'two' }]], steps: [{ print: 'more' }] });
    const outputs: string[] = [];
    for (let i = 0; i < 3; i++) outputs.push((await runAgent({ args: ['--script', file] })).output);
    expect(outputs).toEqual(['one\r\n', 'two\r\n', 'more\r\n']);
    expect(readFileSync(`${file}.count`, 'utf8')).toBe('3');
  });

  it('passes stories in prd.json: the current one, a named one, then all', async () => {
    writeFileSync(join(dir, 'prd.json'), readFileSync(PRD_FIXTURE));
    const file = script({
      iterations: [[{ passStory: 'current' }], [{ passStory: 'US-004' }], [{ passAll: true }]],
    });
    const env = (n: number) => ({ FAKE_AGENT_SCRIPT: file, RALPH_ITERATION: String(n), RALPH_TASK_DIR: dir });
    expect((await runAgent({ env: env(1) })).output).toBe('passed US-002\r\n');
    expect(loadPrd(join(dir, 'prd.json')).stories.map((s) => s.passes)).toEqual([true, true, false, false]);
    expect((await runAgent({ env: env(2) })).output).toBe('passed US-004\r\n');
    expect(loadPrd(join(dir, 'prd.json')).stories.map((s) => s.passes)).toEqual([true, true, false, true]);
    await runAgent({ env: env(3) });
    expect(loadPrd(join(dir, 'prd.json')).stories.every((s) => s.passes)).toBe(true);
  });

  it('passStory "current" honours RALPH_STORY when the runner sets it', async () => {
    writeFileSync(join(dir, 'prd.json'), readFileSync(PRD_FIXTURE));
    const file = script([{ passStory: 'current' }]);
    const run = await runAgent({
      args: ['--script', file, '--task-dir', dir],
      env: { RALPH_ITERATION: '1', RALPH_STORY: 'US-003' },
    });
    expect(run.output).toBe('passed US-003\r\n');
  });

  it('crashes with a stack trace and exit code 1', async () => {
    const run = await runAgent({
      args: ['--script', script([{ print: 'before' }, { crash: true }])],
      env: { RALPH_ITERATION: '4' },
    });
    expect(run.exitCode).toBe(1);
    expect(run.output).toContain('before\r\n');
    expect(run.output).toContain('Error: fake agent crashed on purpose in iteration 4');
    // Node may colour parts of the stack trace on a terminal.
    expect(stripVTControlCharacters(run.output)).toMatch(/at run \(file:\/\/.*fake-agent\.mjs/);
  });

  it('exits with a chosen code after flushing its output', async () => {
    const run = await runAgent({
      args: ['--script', script([{ print: 'bye' }, { exit: 3 }, { print: 'never' }])],
    });
    expect(run).toEqual({ output: 'bye\r\n', exitCode: 3, signal: 0 });
  });

  it('dies by a signal', async () => {
    const run = await runAgent({ args: ['--script', script([{ signal: 'SIGSEGV' }])] });
    expect(run.signal).toBe(11);
  });

  it('hangs until killed', async () => {
    const run = await runAgent({
      args: ['--script', script([{ print: 'stuck' }, { hang: true }])],
      killWhen: 'stuck',
    });
    expect(run.output).toBe('stuck\r\n');
    expect(run.signal).toBe(15);
  });

  it('echoes keystrokes in raw mode until the terminator', async () => {
    const steps = [{ echo: { until: 'quit\r', timeoutMs: 10_000 } }, { print: 'after echo' }];
    const sent: string[] = [];
    const keys = ['a', '\x1b[A', '\x03', 'quit\r'];
    const run = await runAgent({
      args: ['--script', script(steps)],
      onData: (output, term) => {
        const echoed = output.split('ECHO:').length - 2;
        if (
          output.includes('ECHO:READY') &&
          sent.length === Math.max(0, echoed) &&
          sent.length < keys.length
        ) {
          const key = keys[sent.length]!;
          sent.push(key);
          term.write(key);
        }
      },
    });
    expect(run.output).toBe(
      'ECHO:READY\r\nECHO:"a"\r\nECHO:"\\u001b[A"\r\nECHO:"\\u0003"\r\nECHO:"quit\\r"\r\nECHO:DONE\r\nafter echo\r\n',
    );
    expect(run.exitCode).toBe(0);
  });

  it('stops echoing at the timeout', async () => {
    const run = await runAgent({ args: ['--script', script([{ echo: { until: 'x', timeoutMs: 100 } }])] });
    expect(run.output).toBe('ECHO:READY\r\nECHO:TIMEOUT\r\n');
  });

  it('prints an exact number of bytes in bulk', async () => {
    const run = await runAgent({
      args: [
        '--script',
        script([{ printBytes: { count: 300_000, pattern: '0123456789' } }, { print: '|END' }]),
      ],
      waitFor: '|END',
    });
    expect(run.output.length).toBe(300_000 + '|END\r\n'.length);
    expect(run.output.slice(0, 12)).toBe('012345678901');
    expect(run.output.slice(299_997)).toBe('789|END\r\n');
  });

  it('writes files, prints its arguments and working directory', async () => {
    const target = join(dir, 'out', 'note.txt');
    const file = script([
      { writeFile: { path: target, content: 'hello' } },
      { printArgs: true },
      { printCwd: true },
    ]);
    const run = await runAgent({ args: ['--script', file, 'extra'] });
    expect(readFileSync(target, 'utf8')).toBe('hello');
    expect(run.output).toBe(`ARGS:${JSON.stringify(['--script', file, 'extra'])}\r\nCWD:${tmpdir()}\r\n`);
  });

  it('refuses an unknown step with exit code 2', async () => {
    const run = await runAgent({ args: ['--script', script([{ dance: true }])] });
    expect(run).toMatchObject({ exitCode: 2, output: 'fake agent: unknown step {"dance":true}\r\n' });
  });
});
