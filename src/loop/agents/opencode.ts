/**
 * OpenCode. `opencode run <message>` runs one prompt and exits. Permissions are granted through the
 * OPENCODE_PERMISSION environment variable (every tool allowed), as ralph-uv does for unattended runs.
 * The models are named `provider/model`.
 */
import { cliAgent, modelArgs } from './base.js';
import { positional, promptArgument } from './command-line.js';

export const OPENCODE_ALLOW_ALL = JSON.stringify({
  '*': 'allow',
  external_directory: 'allow',
  doom_loop: 'allow',
});

export const opencode = cliAgent({
  name: 'opencode',
  displayName: 'OpenCode',
  binary: 'opencode',
  installCommand: 'npm install -g opencode-ai',
  args: (input) => [
    'run',
    ...modelArgs('--model', input.model),
    ...(input.extraArgs ?? []),
    positional(promptArgument(input.prompt, input.promptFile)),
  ],
  env: () => ({ OPENCODE_PERMISSION: OPENCODE_ALLOW_ALL }),
});
