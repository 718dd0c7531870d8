import { describe, expect, it } from 'vitest';
import { getAgent, AGENT_NAMES } from '../../src/loop/agents/index.js';
import type { BuildCommandInput } from '../../src/loop/agents/index.js';
import { MAX_PROMPT_ARG_BYTES } from '../../src/loop/agents/command-line.js';
import { OPENCODE_ALLOW_ALL } from '../../src/loop/agents/opencode.js';

const INPUT: BuildCommandInput = {
  prompt: '# Ralph\nDo the next story.',
  promptFile: '/loops/t/prompt.md',
  taskDir: '/repo/tasks/t',
  cwd: '/repo',
};
const withInput = (extra: Partial<BuildCommandInput>) => ({ ...INPUT, ...extra });
const asRoot = process.getuid?.() === 0;

describe('agent command lines', () => {
  it('lists every agent in one table', () => {
    expect(AGENT_NAMES).toEqual(['claude', 'codex', 'opencode', 'amp', 'gemini', 'custom', 'demo']);
    for (const name of AGENT_NAMES) expect(getAgent(name).name).toBe(name);
  });

  it('claude: print mode, permissions skipped, prompt after --', () => {
    const cmd = getAgent('claude').buildCommand(
      withInput({ model: 'opus', extraArgs: ['--add-dir', '/extra'] }),
    );
    expect(cmd).toEqual({
      file: 'claude',
      args: [
        '--print',
        '--dangerously-skip-permissions',
        '--model',
        'opus',
        '--add-dir',
        '/extra',
        '--',
        INPUT.prompt,
      ],
      cwd: '/repo',
      ...(asRoot ? { env: { IS_SANDBOX: '1' } } : {}),
    });
    expect(getAgent('claude').installCommand).toBe('npm install -g @anthropic-ai/claude-code');
  });

  it('codex: exec with approvals and sandbox bypassed', () => {
    expect(getAgent('codex').buildCommand(INPUT)).toEqual({
      file: 'codex',
      args: ['exec', '--dangerously-bypass-approvals-and-sandbox', '--', INPUT.prompt],
      cwd: '/repo',
    });
    expect(getAgent('codex').buildCommand(withInput({ model: 'gpt-5' })).args).toContain('gpt-5');
    expect(getAgent('codex').installCommand).toBe('npm install -g @openai/codex');
  });

  it('opencode: run with every permission granted through the environment', () => {
    const cmd = getAgent('opencode').buildCommand(withInput({ model: 'anthropic/claude-sonnet-4' }));
    expect(cmd).toEqual({
      file: 'opencode',
      args: ['run', '--model', 'anthropic/claude-sonnet-4', INPUT.prompt],
      cwd: '/repo',
      env: { OPENCODE_PERMISSION: OPENCODE_ALLOW_ALL },
    });
    expect(JSON.parse(OPENCODE_ALLOW_ALL)).toMatchObject({ '*': 'allow' });
    expect(getAgent('opencode').installCommand).toBe('npm install -g opencode-ai');
  });

  it('amp: execute mode with everything allowed; a model is refused', () => {
    expect(getAgent('amp').buildCommand(withInput({ extraArgs: ['--mode', 'smart'] }))).toEqual({
      file: 'amp',
      args: ['--dangerously-allow-all', '--mode', 'smart', '--execute', INPUT.prompt],
      cwd: '/repo',
    });
    expect(() => getAgent('amp').buildCommand(withInput({ model: 'x' }))).toThrowError(
      expect.objectContaining({ code: 'UNSUPPORTED_OPTION' }),
    );
    expect(getAgent('amp').installCommand).toBe('npm install -g @sourcegraph/amp');
  });

  it('gemini: headless prompt joined to its flag, yolo mode', () => {
    expect(getAgent('gemini').buildCommand(withInput({ model: 'gemini-2.5-pro' }))).toEqual({
      file: 'gemini',
      args: ['--yolo', '--model', 'gemini-2.5-pro', `--prompt=${INPUT.prompt}`],
      cwd: '/repo',
    });
    expect(getAgent('gemini').installCommand).toBe('npm install -g @google/gemini-cli');
  });

  it('a prompt starting with a dash never reads as an option', () => {
    const dashed = withInput({ prompt: '- first do this' });
    expect(getAgent('opencode').buildCommand(dashed).args.at(-1)).toBe('\n- first do this');
    expect(getAgent('amp').buildCommand(dashed).args.at(-1)).toBe('\n- first do this');
    expect(getAgent('claude').buildCommand(dashed).args.slice(-2)).toEqual(['--', '- first do this']);
    expect(getAgent('gemini').buildCommand(dashed).args.at(-1)).toBe('--prompt=- first do this');
  });

  it('a prompt too long for one argument is replaced by a pointer to the prompt file', () => {
    const huge = withInput({ prompt: 'x'.repeat(MAX_PROMPT_ARG_BYTES + 1) });
    for (const name of ['claude', 'codex', 'opencode', 'amp'] as const) {
      const last = getAgent(name).buildCommand(huge).args.at(-1)!;
      expect(last).toBe(`Read the file ${INPUT.promptFile} and follow the instructions in it exactly.`);
    }
  });

  it('demo: node running the built demo agent on the task folder', () => {
    const cmd = getAgent('demo').buildCommand(INPUT);
    expect(cmd.file).toBe(process.execPath);
    expect(cmd.args[0]).toMatch(/\/dist\/src\/demo\/demo-agent\.js$/);
    expect(cmd.args.slice(1)).toEqual(['--task-dir', '/repo/tasks/t']);
    expect(cmd.cwd).toBe('/repo');
  });

  it('an unknown agent name lists the known ones', () => {
    expect(() => getAgent('cursor')).toThrowError(
      expect.objectContaining({
        code: 'UNKNOWN_AGENT',
        message: "unknown agent 'cursor'; known agents: claude, codex, opencode, amp, gemini, custom, demo",
      }),
    );
  });
});
