/**
 * The agent CLIs on the box, as the daemon sees them: found on its PATH or in its own install prefix
 * (`<dataDir>/agents`, whose `node_modules/.bin` leads the PATH runners get), listed with a short cache, and
 * installed on demand from their npm package. One install per agent at a time: a second start asking for the
 * same agent waits for the first install (and sees its remaining progress lines). No credentials pass here:
 * each agent keeps its own login on the box.
 */
import { delimiter } from 'node:path';
import { detectAll, getAgent, type AgentName } from '../loop/agents/index.js';
import { RpcError } from '../protocol/errors.js';
import { agentBinDir, agentPackages, npmInstall } from './agent-install.js';

/** How long a `get_agents` answer is reused. */
export const AGENT_LIST_CACHE_MS = 5000;

export interface AgentInfo {
  name: string;
  available: boolean;
  path: string | null;
  version: string | null;
  /** The npm package it installs from; null for agents that do not install (demo). */
  package: string | null;
}

export interface BoxAgentsOptions {
  /** The install prefix (`<dataDir>/agents`). */
  prefix: string;
  env?: NodeJS.ProcessEnv;
  cacheMs?: number;
}

export interface EnsureOptions {
  /** Refuse rather than install a missing agent. */
  noInstall?: boolean;
  /** Each progress line of an install this start runs or waits for. */
  onLine?: (line: string) => void;
}

interface Install {
  done: Promise<{ ok: boolean; error?: string; tail: string[] }>;
  listeners: Set<(line: string) => void>;
}

export class BoxAgents {
  readonly prefix: string;
  /** The daemon's environment with the install prefix's executables first on PATH. */
  readonly env: NodeJS.ProcessEnv;
  private readonly packages: Record<string, string>;
  private readonly cacheMs: number;
  private cache: { at: number; list: Promise<AgentInfo[]> } | null = null;
  private readonly installs = new Map<string, Install>();

  constructor(options: BoxAgentsOptions) {
    const env = options.env ?? process.env;
    this.prefix = options.prefix;
    this.packages = agentPackages(env);
    this.cacheMs = options.cacheMs ?? AGENT_LIST_CACHE_MS;
    const path = env.PATH ?? '';
    this.env = { ...env, PATH: path === '' ? this.binDir : `${this.binDir}${delimiter}${path}` };
  }

  get binDir(): string {
    return agentBinDir(this.prefix);
  }

  /** Every known agent (but `custom`): installed or not, where, which version, its package. */
  list(): Promise<AgentInfo[]> {
    const now = Date.now();
    if (this.cache !== null && now - this.cache.at < this.cacheMs) return this.cache.list;
    const list = detectAll(this.env).then((all) =>
      all.map(({ name, detection }) => ({
        name,
        available: detection.installed,
        path: detection.path,
        version: detection.version,
        package: this.packages[name] ?? null,
      })),
    );
    this.cache = { at: now, list };
    list.catch(() => (this.cache = null));
    return list;
  }

  /**
   * Makes sure a known agent is installed before a loop starts with it: installs it from its package when it
   * is missing (unless `noInstall`), else AGENT_NOT_FOUND naming the agents that are available.
   */
  async ensure(agent: AgentName, options: EnsureOptions = {}): Promise<void> {
    if (agent === 'custom') return; // its template names its own program, checked when the loop starts
    if ((await getAgent(agent).detect(this.env)).installed) return;
    const spec = this.packages[agent];
    if (spec === undefined) return; // nothing to install: the start reports it missing
    if (options.noInstall === true) {
      throw await this.notFound(agent, `agent '${agent}' is not installed on this box (no_install is set)`);
    }
    const outcome = await this.install(agent, spec, options.onLine);
    if (!outcome.ok) {
      const last = telling(outcome.tail);
      throw await this.notFound(
        agent,
        `installing agent '${agent}' from ${spec} failed: ${outcome.error ?? 'unknown error'}${last === undefined ? '' : ` (${last})`}`,
        { install_output: outcome.tail },
      );
    }
    const after = await getAgent(agent).detect(this.env);
    if (!after.installed) {
      throw await this.notFound(
        agent,
        `agent '${agent}' was installed from ${spec} but is still not usable` +
          (after.error === undefined
            ? ` (no '${getAgent(agent).binary}' in ${this.binDir})`
            : `: ${after.error}`),
        { install_output: outcome.tail },
      );
    }
  }

  /** Runs the install of `agent`, or joins the one already running. */
  private install(agent: string, spec: string, onLine?: (line: string) => void): Install['done'] {
    let running = this.installs.get(agent);
    if (running === undefined) {
      const listeners = new Set<(line: string) => void>();
      const done = npmInstall(this.prefix, spec, this.env, (line) => {
        for (const listener of listeners) listener(line);
      }).finally(() => {
        this.installs.delete(agent);
        this.cache = null;
      });
      running = { done, listeners };
      this.installs.set(agent, running);
    }
    if (onLine !== undefined) running.listeners.add(onLine);
    const { listeners } = running;
    return running.done.finally(() => {
      if (onLine !== undefined) listeners.delete(onLine);
    });
  }

  private async notFound(
    agent: string,
    message: string,
    extra: Record<string, unknown> = {},
  ): Promise<RpcError> {
    const available = (await this.list()).filter((a) => a.available).map((a) => a.name);
    return RpcError.of('AGENT_NOT_FOUND', `${message}; available agents: ${available.join(', ') || 'none'}`, {
      agent,
      available,
      package: this.packages[agent] ?? null,
      ...extra,
    });
  }
}

/** The line of npm's output that says most about a failure: its first error that is not boilerplate. */
function telling(tail: string[]): string | undefined {
  const errors = tail.filter(
    (l) => /^npm (error|ERR!)/.test(l) && !/^npm (error|ERR!) (code |A complete log|$)/.test(l),
  );
  return errors[0] ?? tail.at(-1);
}
