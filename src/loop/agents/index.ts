/** The agent table: one adapter per supported agent CLI, lookup by name, and installation checks. */
import { RalphError, ExitCode } from '../../errors.js';
import type { AgentAdapter, AgentDetection, AgentName } from './types.js';
import { amp } from './amp.js';
import { claude } from './claude.js';
import { codex } from './codex.js';
import { custom, detectTemplate, templateProgram } from './custom.js';
import { demo } from './demo.js';
import { gemini } from './gemini.js';
import { opencode } from './opencode.js';

export type { AgentAdapter, AgentCommand, AgentDetection, AgentName, BuildCommandInput } from './types.js';
export { splitCommandLine } from './command-line.js';
export { findOnPath } from './detect.js';
export { demoAgentPath } from './demo.js';
export { TEMPLATE_PLACEHOLDERS } from './custom.js';

const AGENTS: Record<AgentName, AgentAdapter> = { claude, codex, opencode, amp, gemini, custom, demo };

export const AGENT_NAMES = Object.keys(AGENTS) as AgentName[];

export function getAgent(name: string): AgentAdapter {
  const adapter = (AGENTS as Record<string, AgentAdapter | undefined>)[name];
  if (adapter === undefined) {
    throw new RalphError(
      'UNKNOWN_AGENT',
      `unknown agent '${name}'; known agents: ${AGENT_NAMES.join(', ')}`,
      {
        exitCode: ExitCode.usage,
        data: { agent: name, known: AGENT_NAMES },
      },
    );
  }
  return adapter;
}

/** Detection for every agent except `custom` (which has nothing to look for without a template). */
export async function detectAll(
  env: NodeJS.ProcessEnv = process.env,
): Promise<Array<{ name: AgentName; detection: AgentDetection }>> {
  const names = AGENT_NAMES.filter((n) => n !== 'custom');
  return Promise.all(names.map(async (name) => ({ name, detection: await AGENTS[name].detect(env) })));
}

export interface ResolveAgentOptions {
  env?: NodeJS.ProcessEnv;
  /** Command template for the `custom` agent. */
  template?: string;
}

/** The adapter for `name`, checked to be installed; otherwise one line naming what is installed instead. */
export async function resolveAgent(
  name: string,
  opts: ResolveAgentOptions = {},
): Promise<{ adapter: AgentAdapter; detection: AgentDetection }> {
  const env = opts.env ?? process.env;
  const adapter = getAgent(name);
  const detection =
    adapter.name === 'custom' ? detectTemplate(opts.template, env) : await adapter.detect(env);
  if (detection.installed) return { adapter, detection };

  const problem = detection.error !== undefined && detection.path !== null ? ` (${detection.error})` : '';
  if (adapter.name === 'custom') {
    // The template names its own program: other agents being installed says nothing about it.
    const program = templateProgram(opts.template);
    throw new RalphError(
      'AGENT_MISSING',
      `program '${program}' of the --agent-cmd template is not installed${problem}`,
      {
        exitCode: ExitCode.agentMissing,
        hint: 'check the program name, or give its full path in the template',
        data: { agent: name, program, installCommand: adapter.installCommand },
      },
    );
  }
  const installed = (await detectAll(env)).filter((d) => d.detection.installed).map((d) => d.name);
  const what = `agent '${name}'`;
  const fix = `install ${name} with: ${adapter.installCommand}`;
  throw new RalphError(
    'AGENT_MISSING',
    `${what} is not installed${problem}; installed agents: ${installed.join(', ') || 'none'} (${fix})`,
    {
      exitCode: ExitCode.agentMissing,
      data: { agent: name, installed, installCommand: adapter.installCommand },
    },
  );
}
