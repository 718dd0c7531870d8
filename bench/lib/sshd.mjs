/**
 * The "what users do today" baseline of bench/remote-attach.mjs: `ssh -tt` to this machine attaching a tmux
 * session. A private sshd (its own configuration, host key and port on 127.0.0.1, a throwaway client key) and
 * a private tmux server (its own socket in a temporary folder); both are killed by `stop()`.
 *
 * openssh-server is installed with apt when sshd is missing (root only): `apt-get update` once, then
 * `apt-get install -y openssh-server`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { freePort } from '../../scripts/ziti-testnet/proc.mjs';
import { removeDir, tempDir, withTimeout } from './common.mjs';

const SSHD_PATHS = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'];

function findSshd() {
  return SSHD_PATHS.find((p) => existsSync(p)) ?? null;
}

/** The sshd binary, installing openssh-server with apt when it is missing and this process is root. */
export function ensureSshd(log = (line) => process.stderr.write(`${line}\n`)) {
  const found = findSshd();
  if (found) return found;
  if (process.getuid?.() !== 0) throw new Error('sshd is missing; install openssh-server (needs root)');
  log('installing openssh-server with apt-get (sshd is missing) ...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
  if (update.status !== 0) throw new Error('apt-get update failed');
  const install = spawnSync('apt-get', ['install', '-y', 'openssh-server'], {
    stdio: 'ignore',
    env,
    timeout: 600_000,
  });
  if (install.status !== 0) throw new Error('apt-get install -y openssh-server failed');
  const after = findSshd();
  if (!after) throw new Error('openssh-server installed, but no sshd binary was found');
  return after;
}

function run(command, args) {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0)
    throw new Error(`${command} ${args.join(' ')}: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

async function waitPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on 127.0.0.1:${port} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A private sshd on 127.0.0.1 and a private tmux server. `session(name, command)` starts a detached tmux
 * session; `attach(name)` returns the argv of `ssh -tt … tmux attach` for that session.
 */
export async function startPrivateSshd() {
  const sshd = ensureSshd();
  const dir = tempDir('sshd');
  const port = await freePort();
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  run('cp', [join(dir, 'client_key.pub'), join(dir, 'authorized_keys')]);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'PrintMotd no',
      'AcceptEnv TMUX_TMPDIR',
      '',
    ].join('\n'),
  );
  const daemon = spawn(sshd, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  daemon.stderr.on('data', (d) => (stderr = (stderr + d.toString()).slice(-4000)));
  const tmuxDir = join(dir, 'tmux');
  mkdirSync(tmuxDir, { mode: 0o700 });
  const tmuxSocket = join(tmuxDir, 'bench.sock');
  const tmux = (args) => run('tmux', ['-S', tmuxSocket, '-f', '/dev/null', ...args]);
  const stop = async () => {
    spawnSync('tmux', ['-S', tmuxSocket, 'kill-server'], { stdio: 'ignore', timeout: 10_000 });
    if (daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await withTimeout(new Promise((r) => daemon.once('exit', r)), 5_000, 'sshd to exit').catch(() =>
        daemon.kill('SIGKILL'),
      );
    }
    removeDir(dir);
  };
  try {
    await withTimeout(
      Promise.race([
        waitPort(port, 15_000),
        new Promise((_, reject) =>
          daemon.once('exit', (code) => reject(new Error(`sshd exited (${code}): ${stderr}`))),
        ),
      ]),
      20_000,
      'the private sshd',
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const user = userInfo().username;
  return {
    port,
    stop,
    /** A detached tmux session of `cols`x`rows` running `command` (argv). */
    session(name, command, cols = 80, rows = 24) {
      tmux(['new-session', '-d', '-s', name, '-x', String(cols), '-y', String(rows), ...command]);
    },
    /** argv for ssh -tt to this machine, attaching the session. */
    attachArgv(name) {
      return [
        'ssh',
        '-tt',
        '-i',
        join(dir, 'client_key'),
        '-p',
        String(port),
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
        '-o',
        'LogLevel=ERROR',
        '-o',
        'BatchMode=yes',
        `${user}@127.0.0.1`,
        `tmux -S ${tmuxSocket} attach -t ${name}`,
      ];
    },
  };
}
