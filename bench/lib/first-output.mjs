/**
 * Time from spawning a command in a real terminal (node-pty) until a given text appears in what it prints.
 * Used for the time to the first TUI frame and to the first replayed byte of `ralph attach`.
 */
import { nowMs, withTimeout } from './common.mjs';

/** Resolves to the milliseconds from spawn until `text` is seen; the process is killed afterwards. */
export async function timeToText(argv, text, env, timeoutMs = 20_000) {
  const pty = (await import('node-pty')).default;
  const t0 = nowMs();
  const term = pty.spawn(argv[0], argv.slice(1), {
    name: 'xterm-256color',
    cols: 120,
    rows: 40,
    cwd: process.cwd(),
    env,
    encoding: null,
  });
  let seen = '';
  let exited = false;
  const exit = new Promise((resolve) => term.onExit(() => resolve((exited = true))));
  try {
    return await withTimeout(
      new Promise((resolve, reject) => {
        term.onData((chunk) => {
          seen = (seen + chunk.toString('latin1')).slice(-4096);
          if (seen.includes(text)) resolve(nowMs() - t0);
        });
        exit.then(() => reject(new Error(`${argv.join(' ')} exited before printing ${text}: ${seen}`)));
      }),
      timeoutMs,
      `${argv.slice(1).join(' ')} to print ${text}`,
    );
  } finally {
    if (!exited) term.kill('SIGKILL');
    await withTimeout(exit, 5_000, `${argv.join(' ')} to exit`).catch(() => undefined);
  }
}
