import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { getAgent, splitCommandLine } from '../../src/loop/agents/index.js';
import type { BuildCommandInput } from '../../src/loop/agents/index.js';

const FAKE_AGENT = join(import.meta.dirname, '..', 'fixtures', 'fake-agent.mjs');

describe('splitCommandLine', () => {
  it('splits on whitespace and honours quotes and escapes', () => {
    expect(splitCommandLine('  a  b\tc ')).toEqual(['a', 'b', 'c']);
    expect(splitCommandLine(`run 'two words' "and \\"more\\"" lit\\ eral`)).toEqual([
      'run',
      'two words',
      'and "more"',
      'lit eral',
    ]);
    expect(splitCommandLine(`'' "" x`)).toEqual(['', '', 'x']);
    expect(splitCommandLine(`'$HOME \\n' "a\\nb"`)).toEqual(['$HOME \\n', 'a\\nb']);
    expect(splitCommandLine(`--config='{"a": 1}'`)).toEqual(['--config={"a": 1}']);
  });

  it('rejects an unterminated quote', () => {
    expect(() => splitCommandLine(`agent "oops`)).toThrowError(
      expect.objectContaining({
        code: 'INVALID_AGENT_COMMAND',
        message: 'unterminated " quote in agent command: agent "oops',
      }),
    );
  });
});

describe('custom agent', () => {
  const input: BuildCommandInput = {
    prompt: `it's "quoted" & has $VARS; spaces`,
    promptFile: '/loops/t/prompt.md',
    taskDir: '/repo/tasks/my task',
    cwd: '/repo',
  };

  it('replaces placeholders inside words, keeping each value one argument', () => {
    const cmd = getAgent('custom').buildCommand({
      ...input,
      template: `my-agent --yes --file={prompt_file} --dir "{task_dir}" {prompt} --cwd {cwd} '{"keep": true}'`,
      extraArgs: ['--verbose'],
    });
    expect(cmd).toEqual({
      file: 'my-agent',
      args: [
        '--yes',
        '--file=/loops/t/prompt.md',
        '--dir',
        '/repo/tasks/my task',
        input.prompt,
        '--cwd',
        '/repo',
        '{"keep": true}',
        '--verbose',
      ],
      cwd: '/repo',
    });
  });

  it('needs a template', () => {
    for (const template of [undefined, '   ']) {
      expect(() =>
        getAgent('custom').buildCommand({ ...input, ...(template === undefined ? {} : { template }) }),
      ).toThrowError(
        expect.objectContaining({
          code: 'INVALID_AGENT_COMMAND',
          message: "agent 'custom' needs a command template (--agent-cmd)",
        }),
      );
    }
  });

  it('runs without a shell: the program receives the prompt byte for byte', async () => {
    const template = `${process.execPath} ${FAKE_AGENT} {prompt} {task_dir}`;
    const cmd = getAgent('custom').buildCommand({ ...input, template });
    const result = await execa(cmd.file, cmd.args, {
      cwd: import.meta.dirname,
      env: {
        FAKE_AGENT_SCRIPT: join(import.meta.dirname, '..', 'fixtures', 'fake-agent-print-args.json'),
        RALPH_ITERATION: '1',
      },
      timeout: 15_000,
    });
    expect(result.stdout).toBe(`ARGS:${JSON.stringify([input.prompt, input.taskDir])}`);
  });
});
