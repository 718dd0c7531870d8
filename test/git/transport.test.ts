/**
 * git's own push, fetch and clone through `git-remote-ralph` and a real `git_connect` server on a Unix socket
 * (the daemon's git side, src/daemon/git.ts), with real repositories: hashes match on both ends, fetches speak
 * protocol v2, and a second push after one small commit carries about what a local push of it does.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt } from '../cli/built.js';
import {
  gitRunner,
  helperBinDir,
  startGitServer,
  tempRoot,
  writeNoise,
  type GitServer,
  gitOk,
} from './harness.js';

let root: string;
let workspace: string;
let server: GitServer;
let git: ReturnType<typeof gitRunner>;

beforeAll(async () => {
  await ensureCliBuilt();
  root = tempRoot('ralph-git-');
  workspace = join(root, 'ws');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(workspace);
  mkdirSync(join(root, 's'), { mode: 0o700 });
  server = await startGitServer(join(root, 's'), workspace);
  git = gitRunner(root, helperBinDir(root), { RALPH_GIT_CONNECT_SOCKET: server.socket });
});

afterAll(async () => {
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const ok = (cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> =>
  gitOk(git, cwd, args, env);

async function commitFile(repo: string, name: string, text: string, message: string): Promise<string> {
  writeFileSync(join(repo, name), text);
  await ok(repo, ['add', name]);
  await ok(repo, ['commit', '-q', '-m', message]);
  return ok(repo, ['rev-parse', 'HEAD']);
}

describe('git over git-remote-ralph', () => {
  it('pushes, clones and fetches through the helper; the hashes match on both ends', async () => {
    const laptop = join(root, 'laptop');
    await ok(root, ['init', '-q', '-b', 'main', laptop]);
    await commitFile(laptop, 'README.md', 'hello\n', 'first');
    const head = await commitFile(laptop, 'a.txt', 'a\n', 'second');

    const push = await git(laptop, ['push', 'ralph::box/app', 'main']);
    expect(push.exitCode, String(push.stderr)).toBe(0);
    const bare = join(workspace, 'repos', 'app.git');
    expect(existsSync(join(bare, 'HEAD'))).toBe(true);
    expect(await ok(bare, ['rev-parse', 'refs/heads/main'])).toBe(head);
    expect(server.served.at(-1)?.result).toMatchObject({ service: 'git-receive-pack', exit_code: 0 });

    const clone = join(root, 'clone');
    const cloned = await git(root, ['clone', '-q', 'ralph::box/app', clone], { GIT_TRACE_PACKET: '1' });
    expect(cloned.exitCode, String(cloned.stderr)).toBe(0);
    expect(await ok(clone, ['rev-parse', 'HEAD'])).toBe(head);
    // The daemon speaks protocol v2 for upload-pack: the first thing git read was "version 2".
    expect(String(cloned.stderr)).toMatch(/clone< version 2/);

    // A commit made elsewhere (pushed from the clone to a branch) comes back with fetch.
    await ok(clone, ['checkout', '-q', '-b', 'ralph/feature']);
    const theirs = await commitFile(clone, 'b.txt', 'b\n', 'from the box');
    await ok(clone, ['push', '-q', 'ralph::box/app', 'ralph/feature']);
    await ok(laptop, ['fetch', '-q', 'ralph::box/app', 'ralph/feature:refs/heads/ralph/feature']);
    expect(await ok(laptop, ['rev-parse', 'refs/heads/ralph/feature'])).toBe(theirs);
    expect(await ok(bare, ['rev-parse', 'refs/heads/ralph/feature'])).toBe(theirs);
    expect(await ok(bare, ['fsck', '--strict'])).toBe('');

    // A configured remote works the same way (git passes its name and the address).
    await ok(laptop, ['remote', 'add', 'box', 'ralph::box/app']);
    const listed = await ok(laptop, ['ls-remote', 'box']);
    expect(listed).toContain(`${theirs}\trefs/heads/ralph/feature`);
    await server.settled();
  });

  it('a second push after one small commit carries about what a local push of the same commit does', async () => {
    const repo = join(root, 'big');
    await ok(root, ['init', '-q', '-b', 'main', repo]);
    writeNoise(join(repo, 'data'), 40, 50_000, 7);
    await ok(repo, ['add', '.']);
    await ok(repo, ['commit', '-q', '-m', 'two megabytes of noise']);
    const local = join(root, 'local.git');
    await ok(root, ['init', '-q', '--bare', local]);
    const counter = join(import.meta.dirname, 'count-receive-pack.mjs');
    const countFile = join(root, 'count.json');
    const localPush = async (): Promise<number> => {
      await ok(repo, ['push', '-q', `--receive-pack=node ${counter}`, `file://${local}`, 'main'], {
        COUNT_FILE: countFile,
      });
      const c = JSON.parse(readFileSync(countFile, 'utf8')) as { sent: number; received: number };
      return c.sent + c.received;
    };
    const ralphPush = async (): Promise<{ git: number; handshake: number }> => {
      const before = server.served.length;
      await ok(repo, ['push', '-q', 'ralph::box/big', 'main']);
      await server.settled();
      const entry = server.served[before];
      const result = entry?.result;
      if (result === undefined) throw new Error('the push was not served');
      return { git: result.bytes_in + result.bytes_out, handshake: entry!.handshakeBytes };
    };

    const firstRalph = await ralphPush();
    const firstLocal = await localPush();
    await commitFile(repo, 'small.txt', 'one small change\n', 'small');
    const secondRalph = await ralphPush();
    const secondLocal = await localPush();
    console.log(
      `push bytes (both ways): first ralph ${firstRalph.git} (+${firstRalph.handshake} git_connect) / file:// ${firstLocal}; ` +
        `second ralph ${secondRalph.git} (+${secondRalph.handshake} git_connect) / file:// ${secondLocal}`,
    );
    expect(firstRalph.git).toBeGreaterThan(1_900_000);
    expect(secondRalph.git + secondRalph.handshake).toBeLessThan(firstRalph.git / 100);
    expect(secondRalph.git).toBeLessThanOrEqual(Math.ceil(secondLocal * 1.2));
    expect(await ok(join(workspace, 'repos', 'big.git'), ['rev-parse', 'main'])).toBe(
      await ok(repo, ['rev-parse', 'main']),
    );
  });
});
