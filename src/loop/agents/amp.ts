/**
 * Amp. ralph.sh pipes prompt.md into `amp --dangerously-allow-all`; the runner gives the agent a PTY instead of
 * a pipe, so the prompt is passed as the value of `--execute` (execute mode runs one prompt and exits).
 * Amp has no model flag (it picks models by `--mode`), so a model is refused rather than silently dropped.
 */
import { RalphError, ExitCode } from '../../errors.js';
import { cliAgent } from './base.js';
import { positional, promptArgument } from './command-line.js';

export const amp = cliAgent({
  name: 'amp',
  displayName: 'Amp',
  binary: 'amp',
  installCommand: 'npm install -g @sourcegraph/amp',
  args: (input) => {
    if (input.model !== undefined && input.model !== '') {
      throw new RalphError(
        'UNSUPPORTED_OPTION',
        `agent 'amp' has no model option (got model '${input.model}')`,
        {
          exitCode: ExitCode.usage,
          hint: 'choose an amp mode through extra agent arguments instead, e.g. --mode smart',
        },
      );
    }
    return [
      '--dangerously-allow-all',
      ...(input.extraArgs ?? []),
      '--execute',
      positional(promptArgument(input.prompt, input.promptFile)),
    ];
  },
});
