import { spawn, type ChildProcess } from 'node:child_process';

/** A child that listens on a Unix socket (when given a path), answers connections, and prints "ready". */
const LISTENER = `
const path = process.argv[1];
if (path) {
  require('node:net').createServer((c) => c.end()).listen(path, () => process.stdout.write('ready\\n'));
} else {
  process.stdout.write('ready\\n');
}
setInterval(() => {}, 1000);
`;

const running: ChildProcess[] = [];

export async function startChild(socketPath?: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', LISTENER, socketPath ?? ''], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`listener exited early with ${code}`)));
    child.stdout.once('data', () => resolve());
  });
  child.removeAllListeners('exit');
  return child;
}

export function killChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export async function killAll(): Promise<void> {
  await Promise.all(running.splice(0).map(killChild));
}
