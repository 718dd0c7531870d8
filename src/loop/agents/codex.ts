/**
 * OpenAI Codex CLI. `codex exec` is its non-interactive mode; `--dangerously-bypass-approvals-and-sandbox`
 * gives it the full permissions a Ralph loop needs (approvals would wait for a human who is not there).
 * The prompt goes as the positional argument after `--`. Structured output is `--json` (JSON Lines events).
 */
import { cliAgent, modelArgs } from './base.js';
import { promptArgument } from './command-line.js';

export const codex = cliAgent({
  name: 'codex',
  displayName: 'Codex CLI',
  binary: 'codex',
  installCommand: 'npm install -g @openai/codex',
  streamFormat: 'codex',
  args: (input) => [
    'exec',
    '--dangerously-bypass-approvals-and-sandbox',
    ...(input.structured ? ['--json'] : []),
    ...modelArgs('--model', input.model),
    ...(input.extraArgs ?? []),
    '--',
    promptArgument(input.prompt, input.promptFile),
  ],
});
