// Network namespaces for tests and benchmarks that need "a box whose only route is one link": a namespace with
// a unique name per run, a veth pair between it and the root namespace carrying a private /30, no default
// route, and helpers to run processes inside it and to cut and restore the link. Needs root and `ip netns`.
import { spawn, spawnSync } from 'node:child_process';

export const ENABLE_HINT =
  'run as root on Linux with iproute2 (`ip netns add` must work), or in a container started with ' +
  '--cap-add NET_ADMIN --cap-add SYS_ADMIN';

/** @type {string | null | undefined} */
let probed;

/** Why namespaces cannot be used here, or null when they can. Probed once per process. */
export function netnsUnavailableReason() {
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

/** @param {string[]} args */
function ip(args) {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 15_000 });
  if (r.error || r.status !== 0) {
    throw new Error(`ip ${args.join(' ')} failed: ${(r.error?.message ?? r.stderr).trim()}`);
  }
  return r.stdout;
}

/** Addresses already configured on this machine (root namespace), to avoid a subnet another run uses. */
function usedAddresses() {
  const out = ip(['-o', '-4', 'addr', 'show']);
  return new Set([...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1] ?? ''));
}

let created = 0;

/** @param {number} ms */
function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Waits (bounded) until both ends of the veth carry packets: carrier up (LOWER_UP) and the kernel has swapped
 * the down link's noop qdisc for the real one, which it does a moment after the carrier comes up; packets
 * sent before that are dropped.
 */
/**
 * @param {string} hostIf @param {string} ns @param {string} nsIf
 */
function waitLinkUsable(hostIf, ns, nsIf, timeoutMs = 10_000) {
  /** @param {string} out */
  const ready = (out) => out.includes('LOWER_UP') && !out.includes('qdisc noop');
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
function pickSubnet() {
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
/** @returns {import('./netns-lib.d.mts').Netns} */
export function createNetns() {
  const reason = netnsUnavailableReason();
  if (reason !== null) throw new Error(`network namespaces are unavailable (${reason}): ${ENABLE_HINT}`);
  created += 1;
  const tag = `${process.pid.toString(36)}${created.toString(36)}`;
  const name = `ralph-t-${tag}`;
  const hostIf = `rvh${tag}`.slice(0, 15);
  const nsIf = `rvn${tag}`.slice(0, 15);
  const { host, ns } = pickSubnet();
  /** @type {Set<import('node:child_process').ChildProcess>} */
  const children = new Set();
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

  const pids = () => {
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
        child.stdout?.on('data', (d) => (stdout += d.toString()));
        child.stderr?.on('data', (d) => (stderr += d.toString()));
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
