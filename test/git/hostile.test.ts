/**
 * Hostile git requests against the daemon's git side (src/daemon/git.ts) through `git-remote-ralph` and
 * through a hand-written client that speaks the protocol itself: each is refused with a clear error, and
 * nothing is written anywhere (the workspace and the folders around it are listed before and after).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/index.js';
import { ensureCliBuilt } from '../cli/built.js';
import { within } from '../support/wait.js';
import {
  gitRunner,
  helperBinDir,
  snapshot,
  startGitServer,
  tempRoot,
  type GitServer,
  gitOk,
  repoWithOneCommit,
  readLine,
} from './harness.js';

let root: string;
let workspace: string;
let laptop: string;
let server: GitServer;
let git: ReturnType<typeof gitRunner>;
let head: string;

const ok = (cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> =>
  gitOk(git, cwd, args, env);

beforeAll(async () => {
  await ensureCliBuilt();
  root = tempRoot('ralph-git-hostile-');
  workspace = join(root, 'box', 'ws');
  mkdirSync(workspace, { recursive: true });
  mkdirSync(join(root, 's'), { mode: 0o700 });
  server = await startGitServer(join(root, 's'), workspace);
  git = gitRunner(root, helperBinDir(root), { RALPH_GIT_CONNECT_SOCKET: server.socket });
  laptop = join(root, 'laptop');
  head = await repoWithOneCommit(git, laptop);
  await ok(laptop, ['push', '-q', 'ralph::box/app', 'main']);
  await server.settled();
});

afterAll(async () => {
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Runs `act` and checks that no file appeared, vanished or changed size anywhere under the test's root. */
async function writesNothing(act: () => Promise<void>): Promise<void> {
  // The laptop repository is git's own client side; everything else (the box, the socket dir) must not move.
  const skip = [laptop, join(root, 'home')];
  const before = snapshot(root, skip);
  await act();
  await server.settled();
  expect([...snapshot(root, skip)]).toEqual([...before]);
  expect(existsSync(join(root, 'etc.git'))).toBe(false);
  expect(existsSync(join(root, 'box', 'etc.git'))).toBe(false);
}

/** Opens a raw connection and sends `git_connect`; resolves with the answer and the socket. */
async function rawConnect(
  params: unknown,
): Promise<{ answer: Record<string, unknown>; socket: Socket; rest: Buffer }> {
  const socket = createConnection({ path: server.socket, allowHalfOpen: true });
  socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'git_connect', params })}\n`);
  const { line, rest } = await readLine(socket);
  return { answer: JSON.parse(line) as Record<string, unknown>, socket, rest };
}

function readAll(socket: Socket, first: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts = [first];
    socket.on('data', (chunk: Buffer) => parts.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(parts)));
    socket.once('error', reject);
    socket.resume();
  });
}

const pkt = (text: string): string => `${(text.length + 4).toString(16).padStart(4, '0')}${text}`;

/** A pack with no objects: the header, then its SHA-1. */
function emptyPack(): Buffer {
  const header = Buffer.from([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2, 0, 0, 0, 0]);
  return Buffer.concat([header, createHash('sha1').update(header).digest()]);
}

describe('hostile git requests', () => {
  it('a project name with /../ is refused by the helper and by the daemon side', async () => {
    await writesNothing(async () => {
      const viaGit = await git(laptop, ['push', 'ralph::box/x/../../etc', 'main']);
      expect(viaGit.exitCode).not.toBe(0);
      expect(String(viaGit.stderr)).toContain('ralph: project name "x/../../etc" must be one path segment');

      for (const project of ['x/../../etc', '../etc', '/etc', '..', 'a b', 'x.git']) {
        const { answer, socket } = await rawConnect({ project, service: 'git-receive-pack' });
        socket.destroy();
        const error = answer.error as { code: number; message: string };
        expect(error.code).toBe(ErrorCode.INVALID_PARAMS);
        expect(error.message).toMatch(/^invalid params for git_connect: project name /);
      }
    });
  });

  it('git-upload-archive and other services are refused with a clear error', async () => {
    await writesNothing(async () => {
      const archive = await git(laptop, ['archive', '--remote=ralph::box/app', 'main']);
      expect(archive.exitCode).not.toBe(0);
      expect(String(archive.stderr)).toContain(
        'ralph: remote box refused git-upload-archive of app: invalid params for git_connect: service "git-upload-archive" is not served: only git-upload-pack and git-receive-pack',
      );
      for (const service of ['git-upload-archive', 'sh', 'git-receive-pack --help', 42]) {
        const { answer, socket } = await rawConnect({ project: 'app', service });
        socket.destroy();
        expect((answer.error as { code: number }).code).toBe(ErrorCode.INVALID_PARAMS);
      }
    });
  });

  it('fetching a project nobody pushed is refused as PROJECT_NOT_FOUND and creates nothing', async () => {
    await writesNothing(async () => {
      const r = await git(laptop, ['ls-remote', 'ralph::box/nothing-here']);
      expect(r.exitCode).not.toBe(0);
      expect(String(r.stderr)).toContain(
        'ralph: remote box refused git-upload-pack of nothing-here: no project',
      );
      expect(server.served.at(-1)?.error?.code).toBe(ErrorCode.PROJECT_NOT_FOUND);
    });
  });

  it('a ref name with .. is refused: by git itself, and by the daemon when a client sends it raw', async () => {
    await writesNothing(async () => {
      const viaGit = await git(laptop, ['push', 'ralph::box/app', 'HEAD:refs/heads/a..b']);
      expect(viaGit.exitCode).not.toBe(0);

      const { answer, socket, rest } = await rawConnect({ project: 'app', service: 'git-receive-pack' });
      expect(answer.result).toMatchObject({ project: 'app', service: 'git-receive-pack' });
      // The advertisement ends with a flush packet; then the update, a flush, and an empty pack.
      let advert = rest;
      while (!advert.includes('0000')) {
        advert = Buffer.concat([advert, await new Promise<Buffer>((r) => socket.once('data', r).resume())]);
      }
      socket.pause();
      expect(advert.toString()).toContain(`${head} refs/heads/main`);
      const zero = '0'.repeat(40);
      socket.write(pkt(`${zero} ${head} refs/heads/a..b\0report-status\n`));
      socket.write('0000');
      socket.end(emptyPack());
      const report = (await within(readAll(socket, Buffer.alloc(0)), 'the report')).toString('utf8');
      expect(report).toContain('ng refs/heads/a..b');
      await server.settled();
      const served = server.served.at(-1)?.result;
      expect(served?.exit_code).toBe(0);
      // The hook said why (this client asked for no side band, so it went to the daemon's side only).
      expect(served?.stderr).toContain('ralph: refused: ref name "refs/heads/a..b" is not a valid ref name');
    });
    expect(existsSync(join(workspace, 'repos', 'app.git', 'refs', 'heads', 'a..b'))).toBe(false);
    expect(
      (await git(join(workspace, 'repos', 'app.git'), ['for-each-ref', '--format=%(refname)'])).stdout,
    ).toBe('refs/heads/main');
  });

  it('a push to a branch a running loop owns is refused and the branch does not move', async () => {
    await ok(laptop, ['push', '-q', 'ralph::box/app', 'main:ralph/busy']);
    await server.settled();
    const bare = join(workspace, 'repos', 'app.git');
    writeFileSync(join(laptop, 'b.txt'), 'b\n');
    await ok(laptop, ['add', 'b.txt']);
    await ok(laptop, ['commit', '-q', '-m', 'second']);
    server.owned.add('ralph/busy');
    try {
      await writesNothing(async () => {
        const r = await git(laptop, ['push', 'ralph::box/app', 'HEAD:ralph/busy']);
        expect(r.exitCode).not.toBe(0);
        expect(String(r.stderr)).toContain(
          'remote: ralph: refused: refs/heads/ralph/busy belongs to a running loop: push to another branch, or stop that loop first',
        );
        expect(String(r.stderr)).toContain(
          '[remote rejected] HEAD -> ralph/busy (pre-receive hook declined)',
        );
        // Deleting it is refused too.
        const del = await git(laptop, ['push', 'ralph::box/app', ':ralph/busy']);
        expect(del.exitCode).not.toBe(0);
      });
      expect(await ok(bare, ['rev-parse', 'refs/heads/ralph/busy'])).toBe(head);
      // Another branch is fine.
      await ok(laptop, ['push', '-q', 'ralph::box/app', 'HEAD:ralph/other']);
      expect(await ok(bare, ['rev-parse', 'refs/heads/ralph/other'])).toBe(
        await ok(laptop, ['rev-parse', 'HEAD']),
      );
    } finally {
      server.owned.clear();
    }
  });

  it('a push or fetch that stalls is ended after the idle timeout, and its git with it', async () => {
    mkdirSync(join(root, 's-idle'), { mode: 0o700 });
    const idleServer = await startGitServer(join(root, 's-idle'), workspace, { idleTimeoutSeconds: 1 });
    try {
      for (const service of ['git-receive-pack', 'git-upload-pack']) {
        const socket = createConnection({ path: idleServer.socket, allowHalfOpen: true });
        socket.write(
          `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'git_connect', params: { project: 'app', service } })}\n`,
        );
        const { line, rest } = await readLine(socket);
        expect(JSON.parse(line)).toMatchObject({ result: { project: 'app', service } });
        // The client reads git's advertisement and then sends nothing: the session ends by itself.
        const seen = await within(readAll(socket, rest), `the stalled ${service} to be ended`, 30_000);
        if (service === 'git-receive-pack') expect(seen.toString('latin1')).toContain('refs/heads/main');
        socket.destroy();
      }
      await idleServer.settled();
      const results = idleServer.served.map((s) => s.result);
      // git receive-pack has no timeout of its own; upload-pack's --timeout may end it first.
      expect(results.map((r) => [r?.service, r?.outcome])).toEqual([
        ['git-receive-pack', 'error'],
        ['git-upload-pack', 'error'],
      ]);
      expect(results[0]!.idle).toBe(true);
      expect(results[0]!.stderr).toContain('no bytes either way for 1 s');
    } finally {
      await idleServer.close();
    }
  });

  it('an unknown remote is one clear line and a non-zero exit', async () => {
    const unset = gitRunner(root, join(root, 'bin'), { RALPH_HOME: join(root, 'empty-home') });
    const r = await unset(laptop, ['ls-remote', 'ralph::nope/app'], { RALPH_GIT_CONNECT_SOCKET: '' });
    expect(r.exitCode).not.toBe(0);
    const ours = String(r.stderr)
      .split('\n')
      .filter((l) => l.startsWith('ralph:'));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatch(/^ralph: no remote named "nope"/);
  });
});
