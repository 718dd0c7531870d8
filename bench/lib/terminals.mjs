/**
 * The three ways the benchmarks reach a program in a terminal:
 *   - ralph: a detached runner started with startLoop in a private RALPH_HOME, reached by an attached client
 *     over its Unix socket (the code path of `ralph attach`: binary frames after the attach request);
 *   - tmux: a private tmux server in control mode (`tmux -L <name> -C`), driven through its stdin/stdout;
 *   - node-pty: the program spawned in a PTY inside the benchmark process itself;
 *   - relay: node-pty in a separate minimal Node process relaying raw bytes over a Unix socket (the cost of
 *     the process hop alone, without ralph's protocol, log or screen).
 * Each returns { send(text), onData(listener(Buffer)), close() }.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { FIXTURE, RELAY, importDist, makeTaskDir, tempDir, removeDir, withTimeout } from './common.mjs';

const READY = 'READY';

/** Resolves once `READY` has been seen in the output fed to `onData`. */
function readyWatcher(terminal, what) {
  let seen = '';
  let done;
  const ready = new Promise((resolve) => (done = resolve));
  const off = terminal.onData((chunk) => {
    seen = (seen + chunk.toString('latin1')).slice(-64);
    if (seen.includes(READY)) {
      off();
      done();
    }
  });
  return withTimeout(ready, 20_000, `${what} to print ${READY}`);
}

/** A set of data listeners: add(listener) returns its removal; emit(chunk) calls each. */
export function listeners() {
  const set = new Set();
  return {
    add(listener) {
      set.add(listener);
      return () => set.delete(listener);
    },
    emit(chunk) {
      for (const listener of set) listener(chunk);
    },
  };
}

/** The program spawned with node-pty in this process. */
export async function openNodePty(args) {
  const pty = (await import('node-pty')).default;
  const term = pty.spawn(process.execPath, [FIXTURE, ...args], {
    name: 'xterm-256color',
    cols: 80,
    rows: 24,
    cwd: process.cwd(),
    env: process.env,
    encoding: null,
  });
  const data = listeners();
  term.onData((chunk) => data.emit(chunk));
  const terminal = {
    name: 'node-pty',
    send: (text) => term.write(text),
    onData: (listener) => data.add(listener),
    close: async () => {
      try {
        term.kill('SIGKILL');
      } catch {
        // already gone
      }
    },
  };
  await readyWatcher(terminal, 'node-pty program');
  return terminal;
}

/** The program behind bench/fixtures/relay.mjs, reached over a Unix socket with raw bytes. */
export async function openRelay(args) {
  const dir = tempDir('relay');
  const socketPath = join(dir, 'relay.sock');
  const child = spawn(process.execPath, [RELAY, socketPath, process.execPath, FIXTURE, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let socket = null;
  const close = async () => {
    socket?.destroy();
    if (child.exitCode === null) child.kill('SIGKILL');
    removeDir(dir);
  };
  try {
    let out = '';
    const listening = new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('LISTENING')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`relay exited with code ${code}`)));
      child.once('error', reject);
    });
    await withTimeout(listening, 10_000, 'the relay to listen');
    socket = createConnection({ path: socketPath });
    await withTimeout(once(socket, 'connect'), 5000, 'the relay connection');
    socket.setNoDelay?.(true);
    const data = listeners();
    socket.on('data', (chunk) => data.emit(chunk));
    const terminal = {
      name: 'relay',
      send: (text) => socket.write(text),
      onData: (listener) => data.add(listener),
      close,
    };
    await readyWatcher(terminal, 'relay program');
    return terminal;
  } catch (err) {
    await close();
    throw err;
  }
}

/** Decodes the octal escapes tmux uses in %output lines. */
function unescapeTmux(text) {
  return Buffer.from(
    text.replace(/\\([0-7]{3})/g, (_m, oct) => String.fromCharCode(parseInt(oct, 8))),
    'latin1',
  );
}

/** The program in a private tmux server, driven in control mode. */
export async function openTmux(args) {
  const dir = tempDir('tmux');
  const name = `ralph-bench-${process.pid}`;
  const env = { ...process.env, TMUX_TMPDIR: dir };
  delete env.TMUX;
  const child = spawn(
    'tmux',
    [
      '-L',
      name,
      '-f',
      '/dev/null',
      '-C',
      'new-session',
      '-x',
      '80',
      '-y',
      '24',
      process.execPath,
      FIXTURE,
      ...args,
    ],
    { env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let failure = null;
  child.on('error', (err) => (failure = err));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d.toString()));
  const data = listeners();
  let partial = '';
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (text) => {
    partial += text;
    let nl = partial.indexOf('\n');
    while (nl !== -1) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      const match = /^%output %\d+ (.*)$/s.exec(line);
      if (match) data.emit(unescapeTmux(match[1]));
      nl = partial.indexOf('\n');
    }
  });
  const terminal = {
    name: 'tmux',
    send: (text) => child.stdin.write(`send-keys -l ${text}\n`),
    onData: (listener) => data.add(listener),
    close: async () => {
      const kill = spawn('tmux', ['-L', name, 'kill-server'], { env, stdio: 'ignore' });
      await new Promise((resolve) => kill.on('close', resolve).on('error', resolve));
      child.stdin.end();
      if (child.exitCode === null) child.kill('SIGKILL');
      removeDir(dir);
    },
  };
  try {
    await readyWatcher(terminal, 'tmux program');
  } catch (err) {
    await terminal.close();
    throw new Error(`tmux control mode did not start: ${failure?.message ?? err.message} ${stderr.trim()}`);
  }
  return terminal;
}

/**
 * The program run by a real detached ralph runner, reached through an attached client over the Unix socket
 * with the keyboard lease held. Sets RALPH_HOME for this process (the runner inherits it).
 */
export async function openRalph(args, task) {
  const home = tempDir('home');
  process.env.RALPH_HOME = home;
  const { ralphPaths } = await importDist('src/config/paths.js');
  const { startLoop } = await importDist('src/client/start.js');
  const { AttachSession } = await importDist('src/client/attach.js');
  const { stopLoop } = await importDist('src/client/stop.js');
  const paths = ralphPaths();
  const taskDir = makeTaskDir(join(home, 'tasks'), task);
  const quote = (s) => JSON.stringify(s);
  const session = await startLoop(
    {
      taskDir,
      agent: 'custom',
      agentCommand: [process.execPath, FIXTURE, ...args].map(quote).join(' '),
      maxIterations: 1,
      iterationTimeoutMs: 600_000,
      idleTimeoutMs: 600_000,
      readyTimeoutMs: 20_000,
    },
    paths,
  );
  let attach = null;
  let closing = false;
  const errors = [];
  const close = async () => {
    closing = true;
    if (attach) await attach.detach().catch(() => undefined);
    try {
      await stopLoop(task, { force: true, waitMs: 10_000 }, paths);
    } catch (err) {
      errors.push(err.message);
    }
    // Only a runner that did not stop when asked is killed, so a pid freed (and reused) is never signalled.
    if (errors.length > 0 && session.pid) {
      try {
        process.kill(session.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    removeDir(home);
    if (errors.length > 0) throw new Error(`ralph loop cleanup: ${errors.join('; ')}`);
  };
  try {
    attach = await AttachSession.open(task, { from: 'start' }, paths);
    const data = listeners();
    attach.on('data', (chunk) => data.emit(chunk));
    const lost = new Promise((_, reject) =>
      attach.once('end', (end) => {
        if (!closing) errors.push(`the attached client ended: ${JSON.stringify(end)}`);
        reject(new Error(`attach ended: ${JSON.stringify(end)}`));
      }),
    );
    lost.catch(() => undefined);
    const terminal = {
      name: 'ralph',
      session,
      attach,
      // Keystrokes go the way `ralph attach` sends them: write_pty notifications, no answer per key.
      send: (text) => attach.type(text),
      onData: (listener) => data.add(listener),
      errors,
      close,
    };
    await Promise.race([readyWatcher(terminal, 'ralph loop program'), lost]);
    if (!(await attach.setInteractive(true))) throw new Error('the loop refused interactive mode');
    return terminal;
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
