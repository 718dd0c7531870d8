// Process plumbing for the local OpenZiti test network: locating the `ziti` CLI, running it with an
// isolated configuration, starting long-running ziti processes in their own process group, and
// stopping them again.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Error raised by the test network; `code` is stable, `message` names what went wrong. */
export class TestnetError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{ cause?: unknown }} [options]
   */
  constructor(code, message, options) {
    super(message, options);
    this.name = 'TestnetError';
    this.code = code;
  }
}

export const INSTALL_HINT =
  'install it with `bash scripts/install-ziti.sh` (runs `go install github.com/openziti/ziti/ziti@v1.5.17`, or builds v1.7.2 from the Go module proxy)';

/** @param {string} file */
export function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function goBinDir() {
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8', timeout: 10_000 }).trim();
    if (gopath) return join(gopath.split(delimiter)[0] ?? gopath, 'bin');
  } catch {
    // `go` is not installed: fall back to its default GOPATH.
  }
  return join(homedir(), 'go', 'bin');
}

/**
 * Finds the `ziti` CLI: $RALPH_ZITI_BIN, then PATH, then the Go bin directory.
 * @returns {string | null} absolute path, or null when there is none
 */
export function findZitiBinary(env = process.env) {
  const explicit = env.RALPH_ZITI_BIN;
  if (explicit) return isExecutable(explicit) ? explicit : null;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'ziti'))) return join(dir, 'ziti');
  }
  const fromGo = join(goBinDir(), 'ziti');
  return isExecutable(fromGo) ? fromGo : null;
}

/**
 * Environment for every ziti process of a network: no inherited ZITI_* settings, private CLI config.
 * @param {string} home
 * @param {Record<string, string>} [extra]
 */
export function isolatedEnv(home, extra = {}) {
  /** @type {Record<string, string>} */
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('ZITI_')) env[key] = value;
  }
  env.HOME = join(home, 'cli-home');
  env.ZITI_CONFIG_DIR = join(home, 'cli-config');
  return { ...env, ...extra };
}

/**
 * Runs the ziti CLI to completion and returns its standard output.
 * @param {{ bin: string, home: string }} ctx
 * @param {string[]} args
 * @param {{ env?: Record<string, string>, timeoutMs?: number, input?: string }} [options] standard
 *   input is `input`, or closed at once so that the CLI never waits on a prompt
 */
export function runZiti(ctx, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(
      ctx.bin,
      args,
      {
        env: isolatedEnv(ctx.home, options.env),
        cwd: ctx.home,
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const detail = `${stderr}\n${stdout}`.trim().split('\n').slice(-8).join('\n');
        reject(
          new TestnetError('ZITI_CLI_FAILED', `ziti ${args.join(' ')} failed: ${err.message}\n${detail}`),
        );
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** Asks the kernel for a free TCP port on `host` (default 127.0.0.1) and releases it. */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// The group leader is a small shell that runs ziti and ends it when the owning process is gone,
// so a crashed test run does not leave a controller or router behind. With
// $RALPH_TESTNET_ORPHAN_RM set it also deletes that directory once the owner is gone.
const GUARD = [
  '"$0" "$@" & child=$!',
  'trap \'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0\' TERM INT HUP',
  'while kill -0 "$RALPH_TESTNET_OWNER" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1 & wait $!; done',
  'kill -TERM "$child" 2>/dev/null; wait "$child"',
  'if [ -n "$RALPH_TESTNET_ORPHAN_RM" ] && ! kill -0 "$RALPH_TESTNET_OWNER" 2>/dev/null; then rm -rf -- "$RALPH_TESTNET_ORPHAN_RM"; fi',
].join('\n');

/**
 * Starts a long-running ziti process in its own process group, logging to `logFile` and recording
 * the group id in `pidFile`.
 * @param {{ bin: string, home: string, ownerPid: number }} ctx
 * @param {string[]} args
 * @param {{ logFile: string, pidFile: string, env?: Record<string, string> }} options
 * @returns {number} the process group id
 */
export function spawnZitiDetached(ctx, args, options) {
  const log = openSync(options.logFile, 'a');
  try {
    const env = isolatedEnv(ctx.home, { ...options.env, RALPH_TESTNET_OWNER: String(ctx.ownerPid) });
    const child = spawn('/bin/sh', ['-c', GUARD, ctx.bin, ...args], {
      cwd: ctx.home,
      env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    if (child.pid === undefined)
      throw new TestnetError('ZITI_SPAWN_FAILED', `could not start ziti ${args[0] ?? ''}`);
    child.unref();
    writeFileSync(options.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/**
 * @param {number} pid
 * @returns {boolean} whether a process (group leader) with this id exists
 */
export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code === 'ESRCH') return false;
    throw err;
  }
}

/**
 * @param {number} pgid
 * @param {NodeJS.Signals} signal
 */
function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'ESRCH') throw err;
  }
}

/**
 * Reads a pid file; null when the file is absent.
 * @param {string} pidFile
 */
export function readPid(pidFile) {
  if (!existsSync(pidFile)) return null;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Sends SIGTERM to a process group, waits up to `graceMs`, then SIGKILLs what is left.
 * @param {number} pgid
 */
export async function stopGroup(pgid, graceMs = 10_000) {
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pgid) && Date.now() < deadline) await sleep(100);
  signalGroup(pgid, 'SIGKILL');
  for (let i = 0; i < 50 && isAlive(pgid); i += 1) await sleep(100);
}

/**
 * Synchronous last-resort kill, for process 'exit' handlers.
 * @param {number} pgid
 */
export function killGroupNow(pgid) {
  signalGroup(pgid, 'SIGKILL');
}

/**
 * The last `lines` lines of a log file, for error messages.
 * @param {string} file
 */
export function logTail(file, lines = 25) {
  if (!existsSync(file)) return `(no log at ${file})`;
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Polls `probe` until it returns a truthy value, at most `timeoutMs`.
 * @template T
 * @param {() => Promise<T | null | undefined | false>} probe
 * @param {{ timeoutMs: number, intervalMs?: number, what: string, onTimeout?: () => string }} options
 * @returns {Promise<T>}
 */
export async function waitFor(probe, options) {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = '';
  for (let attempt = 0; attempt < 100_000; attempt += 1) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      if (err instanceof TestnetError && err.code === 'ZITI_PROCESS_EXITED') throw err;
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) break;
    await sleep(options.intervalMs ?? 250);
  }
  const extra = options.onTimeout ? `\n${options.onTimeout()}` : '';
  const last = lastError ? ` (last error: ${lastError.split('\n')[0]})` : '';
  throw new TestnetError(
    'ZITI_TIMEOUT',
    `timed out after ${options.timeoutMs} ms waiting for ${options.what}${last}${extra}`,
  );
}
