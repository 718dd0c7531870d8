/**
 * Gemini CLI. `--prompt` selects headless (non-interactive) mode and `--yolo` accepts every action. The prompt
 * is joined to the flag (`--prompt=<text>`) so a prompt starting with '-' is never read as an option.
 */
import { cliAgent, modelArgs } from './base.js';
import { promptArgument } from './command-line.js';

export const gemini = cliAgent({
  name: 'gemini',
  displayName: 'Gemini CLI',
  binary: 'gemini',
  installCommand: 'npm install -g @google/gemini-cli',
  args: (input) => [
    '--yolo',
    ...modelArgs('--model', input.model),
    ...(input.extraArgs ?? []),
    `--prompt=${promptArgument(input.prompt, input.promptFile)}`,
  ],
});
