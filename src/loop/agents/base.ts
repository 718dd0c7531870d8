/** Shared construction for adapters of real agent CLIs found on PATH. */
import type { AgentAdapter, AgentCommand, AgentName, BuildCommandInput } from './types.js';
import { detectBinary } from './detect.js';
import type { StreamFormat } from '../stream/types.js';

export interface CliAgentSpec {
  name: AgentName;
  displayName: string;
  binary: string;
  installCommand: string;
  streamFormat?: StreamFormat;
  args(input: BuildCommandInput): string[];
  env?(input: BuildCommandInput): Record<string, string> | undefined;
}

export function cliAgent(spec: CliAgentSpec): AgentAdapter {
  return {
    name: spec.name,
    displayName: spec.displayName,
    binary: spec.binary,
    installCommand: spec.installCommand,
    ...(spec.streamFormat ? { streamFormat: spec.streamFormat } : {}),
    detect: (env) => detectBinary(spec.binary, env),
    buildCommand(input): AgentCommand {
      const env = spec.env?.(input);
      return {
        file: spec.binary,
        args: spec.args(input),
        cwd: input.cwd,
        ...(env !== undefined ? { env } : {}),
      };
    },
  };
}

export function modelArgs(flag: string, model: string | undefined): string[] {
  return model !== undefined && model !== '' ? [flag, model] : [];
}
