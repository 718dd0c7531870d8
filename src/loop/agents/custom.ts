/**
 * Any command, from a template such as `my-agent --yes --prompt-file {prompt_file}`. The template is split
 * into words without a shell (quotes respected), then each placeholder is replaced inside its word, so a
 * prompt with spaces or quotes stays one argument:
 *   {prompt}       the prompt text          {prompt_file}  path of a file holding the prompt
 *   {task_dir}     the task folder          {cwd}          the working directory of the agent
 */
import { RalphError, ExitCode } from '../../errors.js';
import type { AgentAdapter, AgentCommand, AgentDetection, BuildCommandInput } from './types.js';
import { promptArgument, splitCommandLine } from './command-line.js';
import { findOnPath } from './detect.js';

export const TEMPLATE_PLACEHOLDERS = ['{prompt}', '{prompt_file}', '{task_dir}', '{cwd}'] as const;

function templateWords(template: string | undefined): string[] {
  const words = template === undefined ? [] : splitCommandLine(template);
  if (words.length === 0) {
    throw new RalphError('INVALID_AGENT_COMMAND', "agent 'custom' needs a command template (--agent-cmd)", {
      exitCode: ExitCode.usage,
      hint: `e.g. --agent-cmd 'my-agent --yes {prompt}'; placeholders: ${TEMPLATE_PLACEHOLDERS.join(' ')}`,
    });
  }
  return words;
}

export function expandTemplate(input: BuildCommandInput): { file: string; args: string[] } {
  const values: Record<string, string> = {
    prompt: promptArgument(input.prompt, input.promptFile),
    prompt_file: input.promptFile,
    task_dir: input.taskDir,
    cwd: input.cwd,
  };
  const expanded = templateWords(input.template).map((word) =>
    word.replace(/\{(prompt|prompt_file|task_dir|cwd)\}/g, (_m, key: string) => values[key] ?? ''),
  );
  const [file, ...args] = expanded as [string, ...string[]];
  return { file, args: [...args, ...(input.extraArgs ?? [])] };
}

/** The program a template runs (its first word). */
export function templateProgram(template: string | undefined): string {
  return templateWords(template)[0] as string;
}

/**
 * Is the program a template starts with installed? Only PATH is searched: an arbitrary program may not know
 * `--version` and could start working instead.
 */
export function detectTemplate(
  template: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): AgentDetection {
  const path = findOnPath(templateProgram(template), env);
  return { installed: path !== null, version: null, path };
}

export const custom: AgentAdapter = {
  name: 'custom',
  displayName: 'Custom command',
  binary: '',
  installCommand: 'install the program your --agent-cmd template runs',
  /** Without a template there is nothing to look for; `resolveAgent` checks the template's program. */
  detect: () => Promise.resolve({ installed: true, version: null, path: null }),
  buildCommand(input): AgentCommand {
    return { ...expandTemplate(input), cwd: input.cwd };
  },
};
