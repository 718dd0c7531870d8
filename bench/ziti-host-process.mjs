/**
 * Starts bench/ziti-echo-host.mjs as a child process, waits until it reports its binds ready, and tallies
 * the connections it reports accepting.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { withTimeout } from './lib/common.mjs';

/**
 * `wrap` runs the host under a command prefix, e.g. `['ip', 'netns', 'exec', '<namespace>']`.
 * @returns {Promise<{ pid: number, connections(): Record<string, number>, stop(): Promise<void> }>}
 */
export async function startEchoHost(script, identityFile, services, readyTimeoutMs = 90_000, wrap = []) {
  const argv = [...wrap, process.execPath, script, identityFile, ...services];
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const tally = {};
  let markReady;
  const ready = new Promise((resolve) => (markReady = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      process.stderr.write(`echo host: ${line}\n`);
      return;
    }
    if (msg.ready) markReady();
    if (msg.conn) {
      const c = msg.conn;
      const label = `${c.service} from ${c.caller} (${c.encrypted ? 'encrypted' : 'not encrypted'})`;
      tally[label] = (tally[label] ?? 0) + 1;
    }
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin.end();
    await withTimeout(exited, 8_000, 'the echo host to exit').catch(() => child.kill('SIGKILL'));
  };
  const failed = exited.then(([code, signal]) => {
    throw new Error(`the echo host exited (${signal ?? `status ${code}`}) before its binds were ready`);
  });
  try {
    await withTimeout(Promise.race([ready, failed]), readyTimeoutMs, 'the echo host to bind');
  } catch (err) {
    await stop();
    throw err;
  }
  failed.catch(() => undefined);
  return { pid: child.pid, connections: () => ({ ...tally }), stop };
}
