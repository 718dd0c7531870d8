/**
 * A network namespace for tests that need "a box whose only route is one link": a namespace with a unique
 * name per test run, a veth pair between it and the root namespace carrying a private /30, no default
 * route, and helpers to run processes inside it and to cut and restore the link.
 *
 * Needs root and `ip netns`. Without them netnsTestsEnabled() prints a notice once and the tests skip; with
 * RALPH_REQUIRE_NETNS=1 (set by .ci/run) they run anyway and fail at createNetns().
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** Set to 1 to make the namespace tests fail, instead of being skipped, when namespaces are unavailable. */
export const REQUIRE_NETNS_ENV = 'RALPH_REQUIRE_NETNS';
const ENABLE_HINT =
  'run the tests as root on Linux with iproute2 (`ip netns add` must work), or in a container started with ' +
  '--cap-add NET_ADMIN --cap-add SYS_ADMIN';

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

let warned = false;
let probed: string | null | undefined;

/** Why namespaces cannot be used here, or null when they can. Probed once per process. */
export function netnsUnavailableReason(): string | null {
  if (probed !== undefined) return probed;
  if (process.platform !== 'linux') probed = 'not Linux';
  else if (process.getuid?.() !== 0) probed = 'not running as root';
  else {
    const name = `ralph-probe-${process.pid}`;
    const add = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8', timeout: 10_000 });
    if (add.error || add.status !== 0) {
      probed = `ip netns add failed: ${(add.error?.message ?? add.stderr).trim()}`;
    } else {
      spawnSync('ip', ['netns', 'del', name], { timeout: 10_000 });
      probed = null;
    }
  }
  return probed;
}

/**
 * Whether the namespace tests should run: true when namespaces work or $RALPH_REQUIRE_NETNS is 1. Otherwise
 * prints a notice once per process naming how to enable them. Use as `describe.skipIf(!netnsTestsEnabled())`.
 */
export function netnsTestsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const reason = netnsUnavailableReason();
  if (reason === null || env[REQUIRE_NETNS_ENV] === '1') return true;
  if (!warned) {
    warned = true;
    console.warn(
      `[netns] SKIPPING the network-namespace tests (${reason}): ${ENABLE_HINT}. ` +
        `Set ${REQUIRE_NETNS_ENV}=1 to make this a failure.`,
    );
  }
  return false;
}

function ip(args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 15_000 });
  if (r.error || r.status !== 0) {
    throw new Error(`ip ${args.join(' ')} failed: ${(r.error?.message ?? r.stderr).trim()}`);
  }
  return r.stdout;
}

/** Addresses already configured on this machine (root namespace), to avoid a subnet another run uses. */
function usedAddresses(): Set<string> {
  const out = ip(['-o', '-4', 'addr', 'show']);
  return new Set([...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1] ?? ''));
}

let created = 0;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Waits (bounded) until both ends of the veth carry packets: carrier up (LOWER_UP) and the kernel has swapped
 * the down link's noop qdisc for the real one, which it does a moment after the carrier comes up; packets
 * sent before that are dropped.
 */
function waitLinkUsable(hostIf: string, ns: string, nsIf: string, timeoutMs = 10_000): void {
  const ready = (out: string): boolean => out.includes('LOWER_UP') && !out.includes('qdisc noop');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const host = ip(['link', 'show', 'dev', hostIf]);
    const inside = ip(['-n', ns, 'link', 'show', 'dev', nsIf]);
    if (ready(host) && ready(inside)) return;
    if (Date.now() > deadline)
      throw new Error(`the veth ${hostIf}/${nsIf} did not come up in ${timeoutMs} ms`);
    sleepSync(50);
  }
}

/**
 * Picks 10.213.X.Y/30 with X from the pid and Y the first /30 of that /24 that no interface of the root
 * namespace uses yet (so parallel runs, each with its own pid, do not collide; a clash moves on).
 */
function pickSubnet(): { host: string; ns: string } {
  const used = usedAddresses();
  for (let step = 0; step < 256; step += 1) {
    const x = (process.pid + step) % 256;
    for (let base = 0; base < 256; base += 4) {
      const host = `10.213.${x}.${base + 1}`;
      const ns = `10.213.${x}.${base + 2}`;
      if (!used.has(host) && !used.has(ns)) return { host, ns };
    }
  }
  throw new Error('no free /30 in 10.213.0.0/16');
}

/**
 * Creates the namespace and its veth pair; the namespace's only routes are the /30 of the link (no default
 * route), and its loopback is up. Call destroy() in afterAll.
 */
export function createNetns(): Netns {
  const reason = netnsUnavailableReason();
  if (reason !== null) throw new Error(`network namespaces are unavailable (${reason}): ${ENABLE_HINT}`);
  created += 1;
  const tag = `${process.pid.toString(36)}${created.toString(36)}`;
  const name = `ralph-t-${tag}`;
  const hostIf = `rvh${tag}`.slice(0, 15);
  const nsIf = `rvn${tag}`.slice(0, 15);
  const { host, ns } = pickSubnet();
  const children = new Set<ChildProcess>();
  let destroyed = false;
  ip(['netns', 'add', name]);
  try {
    ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    ip(['link', 'set', nsIf, 'netns', name]);
    ip(['addr', 'add', `${host}/30`, 'dev', hostIf]);
    ip(['link', 'set', hostIf, 'up']);
    ip(['-n', name, 'addr', 'add', `${ns}/30`, 'dev', nsIf]);
    ip(['-n', name, 'link', 'set', nsIf, 'up']);
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
    waitLinkUsable(hostIf, name, nsIf);
  } catch (err) {
    spawnSync('ip', ['link', 'del', hostIf], { timeout: 10_000 });
    spawnSync('ip', ['netns', 'del', name], { timeout: 10_000 });
    throw err;
  }

  const pids = (): number[] => {
    const r = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) return [];
    return r.stdout
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  };

  return {
    name,
    hostIf,
    hostAddress: host,
    nsIf,
    nsAddress: ns,
    spawn(command, args, options = {}) {
      const env = { ...(options.env ?? {}) };
      env.PATH ??= process.env.PATH;
      const child = spawn('ip', ['netns', 'exec', name, command, ...args], {
        env,
        cwd: options.cwd,
        stdio: options.stdio ?? 'pipe',
        detached: options.detached ?? false,
      });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    exec(command, args, timeoutMs = 15_000) {
      const r = spawnSync('ip', ['netns', 'exec', name, command, ...args], {
        encoding: 'utf8',
        timeout: timeoutMs,
      });
      if (r.error || r.status !== 0) {
        throw new Error(
          `${command} ${args.join(' ')} in ${name} failed: ${(r.error?.message ?? r.stderr).trim()}`,
        );
      }
      return r.stdout;
    },
    run(command, args, options = {}) {
      const timeoutMs = options.timeoutMs ?? 15_000;
      const child = this.spawn(command, args, { env: options.env ?? { ...process.env } });
      return new Promise((resolve, reject) => {
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.once('error', reject);
        child.once('close', (code, signal) => {
          clearTimeout(timer);
          if (code === 0) resolve(stdout);
          else
            reject(
              new Error(
                `${command} ${args.join(' ')} in ${name} ended with ${signal ?? `code ${code}`}` +
                  `${signal === 'SIGKILL' ? ` (limit ${timeoutMs} ms)` : ''}: ${stderr.trim().slice(-2000)}`,
              ),
            );
        });
      });
    },
    cut() {
      ip(['link', 'set', hostIf, 'down']);
    },
    restore() {
      ip(['link', 'set', hostIf, 'up']);
      waitLinkUsable(hostIf, name, nsIf);
    },
    pids,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      // Everything running in the namespace was started by this test (the namespace is unique to it).
      for (let round = 0; round < 2; round += 1) {
        const live = pids();
        if (live.length === 0) break;
        for (const pid of live) {
          try {
            process.kill(pid, round === 0 ? 'SIGTERM' : 'SIGKILL');
          } catch {
            // already gone
          }
        }
        const deadline = Date.now() + 5_000;
        while (pids().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      }
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      spawnSync('ip', ['link', 'del', hostIf], { timeout: 10_000 });
      spawnSync('ip', ['netns', 'del', name], { timeout: 10_000 });
    },
  };
}
