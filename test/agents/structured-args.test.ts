/** Which agents run in a machine-readable mode, and the flags that select it. */
import { describe, expect, it } from 'vitest';
import { getAgent } from '../../src/loop/agents/index.js';
import { streamFormatFor } from '../../src/loop/budget.js';
import { LOOP_DEFAULTS, type LoopConfig } from '../../src/loop/types.js';

const INPUT = { prompt: 'Do the next story.', promptFile: '/l/prompt.md', taskDir: '/t', cwd: '/t' };
const config = (extra: Partial<LoopConfig>): LoopConfig => ({
  ...LOOP_DEFAULTS,
  task: 't',
  taskDir: '/t',
  cwd: '/t',
  agent: 'claude',
  ...extra,
});

describe('structured agent output', () => {
  it('claude: --output-format stream-json --verbose, before the prompt', () => {
    const args = getAgent('claude').buildCommand({ ...INPUT, structured: true }).args;
    expect(args.slice(0, 5)).toEqual([
      '--print',
      '--dangerously-skip-permissions',
      '--output-format',
      'stream-json',
      '--verbose',
    ]);
    expect(args.at(-1)).toBe(INPUT.prompt);
    expect(getAgent('claude').buildCommand(INPUT).args).not.toContain('--output-format');
  });

  it('codex: exec --json', () => {
    const args = getAgent('codex').buildCommand({ ...INPUT, structured: true }).args;
    expect(args.slice(0, 3)).toEqual(['exec', '--dangerously-bypass-approvals-and-sandbox', '--json']);
    expect(getAgent('codex').buildCommand(INPUT).args).not.toContain('--json');
  });

  it('json output by default where the agent has a format; text on request; custom only when told', () => {
    expect(streamFormatFor(config({}), getAgent('claude'))).toBe('claude');
    expect(streamFormatFor(config({ agent: 'codex' }), getAgent('codex'))).toBe('codex');
    expect(streamFormatFor(config({ output: 'text' }), getAgent('claude'))).toBeNull();
    expect(streamFormatFor(config({ agent: 'gemini' }), getAgent('gemini'))).toBeNull();
    expect(streamFormatFor(config({ agent: 'custom' }), getAgent('custom'))).toBeNull();
    expect(streamFormatFor(config({ agent: 'custom', streamFormat: 'codex' }), getAgent('custom'))).toBe(
      'codex',
    );
  });
});
