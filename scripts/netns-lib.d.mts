// Types for netns-lib.mjs.
import type { ChildProcess } from 'node:child_process';

export declare const ENABLE_HINT: string;

export interface Netns {
  /** The namespace's name (`ip netns exec <name> …`). */
  readonly name: string;
  /** The veth end in the root namespace and its address (where the test's servers listen). */
  readonly hostIf: string;
  readonly hostAddress: string;
  /** The veth end inside the namespace and its address. */
  readonly nsIf: string;
  readonly nsAddress: string;
  /** Runs `ip netns exec <name> <command> <args>` with exactly `env` (plus PATH if it lacks one). */
  spawn(command: string, args: string[], options?: NetnsSpawnOptions): ChildProcess;
  /** Runs a command inside the namespace to completion (blocking); returns its stdout, throws on failure. */
  exec(command: string, args: string[], timeoutMs?: number): string;
  /** Runs a command inside the namespace without blocking; resolves to its stdout (rejects on failure). */
  run(
    command: string,
    args: string[],
    options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<string>;
  /** The link goes down: packets between the namespace and the root namespace are dropped. */
  cut(): void;
  /** The link comes back up. */
  restore(): void;
  /** Pids of every process running in the namespace. */
  pids(): number[];
  /** Kills every process in the namespace (only the test's: the namespace is its own), deletes it and the veth. */
  destroy(): Promise<void>;
}

export interface NetnsSpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdio?: 'pipe' | 'ignore' | 'inherit' | Array<'pipe' | 'ignore' | 'inherit'>;
  /** Own process group (default false). */
  detached?: boolean;
}

/** Why namespaces cannot be used here, or null when they can. Probed once per process. */
export declare function netnsUnavailableReason(): string | null;

/**
 * Creates a namespace with a unique name and its veth pair; the namespace's only routes are the /30 of the
 * link (no default route), and its loopback is up. Call destroy() when done.
 */
export declare function createNetns(): Netns;
