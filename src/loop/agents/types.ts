import type { StreamFormat } from '../stream/types.js';

/** The shape every agent adapter has: how to find it, and the command line one iteration runs. */
export interface AgentCommand {
  file: string;
  args: string[];
  env?: Record<string, string>;
  cwd: string;
}

export interface AgentDetection {
  installed: boolean;
  version: string | null;
  path: string | null;
  /** Why a binary that was found is not usable (e.g. `--version` failed). */
  error?: string;
}

export interface BuildCommandInput {
  /** The full prompt text for this iteration. */
  prompt: string;
  /** The same prompt, written to a file the agent may read. */
  promptFile: string;
  taskDir: string;
  cwd: string;
  model?: string;
  extraArgs?: string[];
  /** Command template, for the `custom` agent only. */
  template?: string;
  /** Run the agent in its machine-readable output mode (see `AgentAdapter.streamFormat`). */
  structured?: boolean;
}

export type AgentName = 'claude' | 'codex' | 'opencode' | 'amp' | 'gemini' | 'custom' | 'demo';

export interface AgentAdapter {
  name: AgentName;
  displayName: string;
  /** Executable looked up on PATH. */
  binary: string;
  /** Shell command that installs the agent. */
  installCommand: string;
  /** The format of its machine-readable output mode, if it has one. */
  streamFormat?: StreamFormat;
  detect(env?: NodeJS.ProcessEnv): Promise<AgentDetection>;
  buildCommand(input: BuildCommandInput): AgentCommand;
}
