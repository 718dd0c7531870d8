/**
 * Claude Code. `--print` runs one prompt and exits (as ralph.sh and ralph-tui run it); the prompt is passed as
 * an argument after `--`, because the runner gives the agent a PTY, not a pipe to read a prompt from, and
 * `--` keeps variadic options such as `--add-dir` in extra arguments from swallowing it.
 * Claude refuses `--dangerously-skip-permissions` as root unless IS_SANDBOX=1 says the machine is disposable,
 * so that variable is set when the loop runs as root (typical on a VPS or in a container).
 * Structured output is `--output-format stream-json --verbose` (stream-json in print mode needs --verbose).
 */
import { cliAgent, modelArgs } from './base.js';
import { promptArgument } from './command-line.js';

export const claude = cliAgent({
  name: 'claude',
  displayName: 'Claude Code',
  binary: 'claude',
  installCommand: 'npm install -g @anthropic-ai/claude-code',
  streamFormat: 'claude',
  args: (input) => [
    '--print',
    '--dangerously-skip-permissions',
    ...(input.structured ? ['--output-format', 'stream-json', '--verbose'] : []),
    ...modelArgs('--model', input.model),
    ...(input.extraArgs ?? []),
    '--',
    promptArgument(input.prompt, input.promptFile),
  ],
  env: () => (process.getuid?.() === 0 ? { IS_SANDBOX: '1' } : undefined),
});
