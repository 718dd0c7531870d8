/**
 * A git server for the transport tests: a Unix socket that reads one `git_connect` line, answers it through
 * `prepareGitConnect` and hands the connection to `serveGitConnect`, like the daemon's hand-over. Also the
 * `git-remote-ralph` bin dir for PATH, git with a private HOME, and file tree snapshots.
 */
import { mkdirSync, readdirSync, lstatSync, symlinkSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { Duplex } from 'node:stream';
import { execa, type Result } from 'execa';
import { prepareGitConnect, serveGitConnect, type GitServeResult } from '../../src/daemon/git.js';
import { RpcError } from '../../src/protocol/index.js';
import { listenUnix, type UnixListener } from '../../src/transport/unix.js';
import { ROOT } from '../cli/built.js';

export interface Served {
  params: unknown;
  /** Bytes of the request line and of the answer line. */
  handshakeBytes: number;
  /** The answer's error, when refused. */
  error?: { code: number; message: string };
  result?: GitServeResult;
}

export interface GitServer {
  socket: string;
  served: Served[];
  /** Branches reported as owned by running loops. */
  owned: Set<string>;
  /** Resolves when every session accepted so far has ended. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function startGitServer(
  socketDir: string,
  workspace: string,
  serveOptions: { idleTimeoutSeconds?: number } = {},
): Promise<GitServer> {
  const served: Served[] = [];
  const running: Promise<unknown>[] = [];
  const owned = new Set<string>();
  const onConnection = (stream: Duplex): void => {
    running.push(
      readLine(stream).then(async ({ line, rest }) => {
        const request = JSON.parse(line) as { id: number; params: unknown };
        const entry: Served = { params: request.params, handshakeBytes: line.length + 1 };
        served.push(entry);
        try {
          const plan = prepareGitConnect(request.params, {
            workspace,
            ownedBranches: () => owned,
            ...serveOptions,
          });
          const answer = `${JSON.stringify({ jsonrpc: '2.0', id: request.id, result: { project: plan.project, service: plan.service, created: plan.created } })}\n`;
          entry.handshakeBytes += answer.length;
          stream.write(answer);
          entry.result = await serveGitConnect(stream, plan, rest.length > 0 ? [rest] : []);
        } catch (err) {
          const e = err instanceof RpcError ? err : new RpcError(-32603, String(err));
          entry.error = { code: e.code, message: e.message };
          const answer = `${JSON.stringify({ jsonrpc: '2.0', id: request.id, error: e.toJSON() })}\n`;
          entry.handshakeBytes += answer.length;
          stream.end(answer);
        }
      }),
    );
  };
  const socket = join(socketDir, 'git.sock');
  const listener: UnixListener = await listenUnix(socket, onConnection);
  return {
    socket,
    served,
    owned,
    settled: async () => {
      await Promise.allSettled(running);
    },
    close: () => listener.close(),
  };
}

/** The first line on `stream` and the bytes after it; the stream is left paused. */
export function readLine(stream: Duplex): Promise<{ line: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const nl = buffered.indexOf(0x0a);
      if (nl < 0) return;
      stream.off('data', onData);
      stream.pause();
      resolve({ line: buffered.subarray(0, nl).toString('utf8'), rest: buffered.subarray(nl + 1) });
    };
    stream.on('data', onData);
    stream.once('error', reject);
  });
}

/** A folder holding `git-remote-ralph` (a link to the built helper), to put first on PATH. */
export function helperBinDir(root: string): string {
  const dir = join(root, 'bin');
  mkdirSync(dir, { recursive: true });
  symlinkSync(join(ROOT, 'dist', 'cli', 'git-remote-ralph.js'), join(dir, 'git-remote-ralph'));
  return dir;
}

/** Runs git in `cwd` with a private HOME, fixed identity, and the helper dir first on PATH. */
export function gitRunner(
  root: string,
  binDir: string,
  extraEnv: Record<string, string> = {},
  timeoutMs = 60_000,
) {
  const home = join(root, 'home');
  mkdirSync(home, { recursive: true });
  const env: Record<string, string | undefined> = {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    RALPH_HOME: join(root, 'ralph-home'),
    PATH: `${binDir}:${process.env.PATH ?? ''}`,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.invalid',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.invalid',
    GIT_DIR: undefined,
    GIT_WORK_TREE: undefined,
    ...extraEnv,
  };
  return (cwd: string, args: string[], more: Record<string, string> = {}): Promise<Result> =>
    execa('git', args, { cwd, env: { ...env, ...more }, extendEnv: true, reject: false, timeout: timeoutMs });
}

export type GitRun = ReturnType<typeof gitRunner>;

/** Runs git through `run` and returns its trimmed stdout; a failure throws with git's stderr. */
export async function gitOk(
  run: GitRun,
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const r = await run(cwd, args, env);
  if (r.exitCode !== 0) throw new Error(`git ${args.join(' ')} failed (${r.exitCode}):\n${String(r.stderr)}`);
  return String(r.stdout).trim();
}

/** A new repository at `dir` on branch main with one commit of `a.txt`; returns the commit's hash. */
export async function repoWithOneCommit(run: GitRun, dir: string, text = 'a\n'): Promise<string> {
  await gitOk(run, dirname(dir), ['init', '-q', '-b', 'main', dir]);
  writeFileSync(join(dir, 'a.txt'), text);
  await gitOk(run, dir, ['add', 'a.txt']);
  await gitOk(run, dir, ['commit', '-q', '-m', 'first']);
  return gitOk(run, dir, ['rev-parse', 'HEAD']);
}

/** Every path under `dir` (relative) with its size; symlinks listed, never followed. */
export function snapshot(dir: string, skip: readonly string[] = []): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (skip.includes(path)) continue;
      const stat = lstatSync(path);
      out.set(relative(dir, path), stat.isDirectory() ? -1 : stat.size);
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return out;
}

export function tempRoot(prefix: string): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  return root;
}

/** Writes `count` files of `bytes` pseudo-random (incompressible) bytes each under `dir`. */
export function writeNoise(dir: string, count: number, bytes: number, seed: number): void {
  mkdirSync(dir, { recursive: true });
  let x = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    const buf = Buffer.alloc(bytes);
    for (let j = 0; j < bytes; j++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      buf[j] = x & 0xff;
    }
    writeFileSync(join(dir, `blob-${i}.bin`), buf);
  }
}
