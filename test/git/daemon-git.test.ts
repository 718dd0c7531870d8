/**
 * `git_connect` through the real daemon (in-process, its local socket): git pushes and clones through
 * `git-remote-ralph` pointed at the daemon's socket (the helper skips its `hello`), every request is audited,
 * branches of the box's live loops are refused, and an `observe` caller may fetch but not push.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ralphPaths } from '../../src/config/paths.js';
import { startDaemon, type Daemon } from '../../src/daemon/server.js';
import type { AuditInput } from '../../src/daemon/audit.js';
import { ErrorCode, serveWith } from '../../src/protocol/index.js';
import { Registry } from '../../src/registry/index.js';
import { ensureCliBuilt } from '../cli/built.js';
import { LineClient } from '../daemon/harness.js';
import { duplexPair } from '../support/duplex-pair.js';
import { within } from '../support/wait.js';
import { localSession } from '../registry/helpers.js';
import { gitRunner, helperBinDir, tempRoot, gitOk, repoWithOneCommit } from './harness.js';

let root: string;
let workspace: string;
let daemon: Daemon;
let git: ReturnType<typeof gitRunner>;
let laptop: string;
let head: string;
const audit: AuditInput[] = [];
const paths = () => ralphPaths({ RALPH_HOME: join(root, 'box-home') });

const ok = (cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> =>
  gitOk(git, cwd, args, env);

beforeAll(async () => {
  await ensureCliBuilt();
  root = tempRoot('ralph-git-daemon-');
  workspace = join(root, 'ws');
  mkdirSync(workspace);
  daemon = await startDaemon(
    {
      file: null,
      identity: join(root, 'none.json'),
      service: 'ralph-test',
      workspace,
      maxLoops: 2,
      roles: { watcher: 'observe' },
      socket: join(paths().runDir, 'daemon.sock'),
      audit: join(root, 'audit.ndjson'),
      journal: join(root, 'journal.ndjson'),
      terminator: null,
    },
    { ziti: false, paths: paths(), audit: { record: (e) => audit.push(e) }, validateResults: true },
  );
  git = gitRunner(root, helperBinDir(root), { RALPH_GIT_CONNECT_SOCKET: daemon.socketPath });
  laptop = join(root, 'laptop');
  head = await repoWithOneCommit(git, laptop);
});

afterAll(async () => {
  await daemon?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('git_connect through the daemon', () => {
  it('push and clone go through the daemon socket; each request is audited', async () => {
    await ok(laptop, ['push', '-q', 'ralph::box/app', 'main']);
    const clone = join(root, 'clone');
    await ok(root, ['clone', '-q', 'ralph::box/app', clone]);
    expect(await ok(clone, ['rev-parse', 'HEAD'])).toBe(head);
    expect(await ok(join(workspace, 'repos', 'app.git'), ['rev-parse', 'main'])).toBe(head);

    const archive = await git(laptop, ['archive', '--remote=ralph::box/app', 'main']);
    expect(archive.exitCode).not.toBe(0);
    expect(String(archive.stderr)).toContain('service "git-upload-archive" is not served');

    const gitLines = audit.filter((e) => e.method === 'git_connect');
    expect(gitLines.map((e) => [e.outcome, e.code ?? null, e.transport])).toEqual([
      ['ok', null, 'unix'],
      ['ok', null, 'unix'],
      ['error', ErrorCode.INVALID_PARAMS, 'unix'],
    ]);
  });

  it("a push to the branch of a loop in the box's registry is refused", async () => {
    const registry = Registry.open(paths().registryFile);
    try {
      registry.create(localSession('busy', { branch: 'ralph/busy', taskDir: join(workspace, 'busy') }));
    } finally {
      registry.close();
    }
    const r = await git(laptop, ['push', 'ralph::box/app', 'main:ralph/busy']);
    expect(r.exitCode).not.toBe(0);
    expect(String(r.stderr)).toContain(
      'remote: ralph: refused: refs/heads/ralph/busy belongs to a running loop',
    );
    const refs = await git(join(workspace, 'repos', 'app.git'), ['for-each-ref', '--format=%(refname)']);
    expect(String(refs.stdout)).not.toContain('ralph/busy');
  });

  it('an observe caller may fetch but not push', async () => {
    const [ours, theirs] = duplexPair();
    const peer = { label: 'ziti#1', transport: 'ziti' as const, identity: 'watcher', attested: true };
    const conn = serveWith(ours, daemon.router.dispatch, { peer, handOver: daemon.router.handOver });
    daemon.router.accept(conn, peer);
    const client = new LineClient(theirs);
    expect((await client.hello).role).toBe('observe');
    const push = await client.call('git_connect', { project: 'app', service: 'git-receive-pack' });
    expect(push.error?.code).toBe(ErrorCode.FORBIDDEN);
    expect(push.error?.message).toBe('role observe may not push (git-receive-pack needs control)');
    const fetch = await client.call('git_connect', { project: 'app', service: 'git-upload-pack' });
    expect(fetch.result).toEqual({ project: 'app', service: 'git-upload-pack', created: false });
    // The connection is git's now: upload-pack (protocol v2) speaks first.
    const first = await new Promise<Buffer>((resolve) => client.release().once('data', resolve));
    expect(first.toString('utf8')).toMatch(/^000eversion 2\n/);
    // A flush and the end of input: git exits, and the daemon ends the connection.
    const ended = new Promise((resolve) => theirs.once('end', resolve));
    theirs.resume();
    theirs.end('0000');
    await within(ended, 'the daemon to end the git connection');
    const lines = audit
      .filter((e) => e.identity === 'watcher')
      .map((e) => [e.method, e.outcome, e.code ?? null]);
    expect(lines).toEqual([
      ['git_connect', 'error', ErrorCode.FORBIDDEN],
      ['git_connect', 'ok', null],
    ]);
  });
});
