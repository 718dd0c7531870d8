/**
 * `ralph start --remote` and `ralph pull`, the user's whole flow, on a real OpenZiti test network with real git
 * repositories: the laptop's repository is pushed through `git-remote-ralph` to the built `ralph daemon`, which
 * runs the loop in a worktree of the pushed branch; the fake agent (run through `sh -c`) commits on that branch;
 * a new `ralph status` process sees the loop completed; `ralph pull` brings the commits home with the same
 * hashes. Also: a second start after one small commit sends about what a local `git push` sends (bytes printed,
 * ratio asserted ≤ 1.2), a dirty task folder is refused (and sent as a snapshot with --include-uncommitted), bad
 * names and paths are refused by the daemon, and a running loop's branch cannot be pushed to.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeZitiContexts } from '../../src/client/remote/daemon-client.js';
import { loadIdentity } from '../../src/ziti/identity.js';
import type { SessionRecord } from '../../src/registry/index.js';
import { CliSandbox, FAKE_AGENT, useCliSandbox, waitFor } from '../cli/harness.js';
import { ensureCliBuilt } from '../cli/built.js';
import {
  LineClient,
  startDaemonProcess,
  writeDaemonConfig,
  type DaemonProcess,
  type DaemonSetup,
  createDaemonService,
} from '../daemon/harness.js';
import { prdJson } from '../support/prd.js';
import { uniqueName } from '../ziti/e2e/helpers.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../ziti/network.js';
import { gitOk, gitRunner, helperBinDir, type GitRun } from '../git/harness.js';

const GIT_ID = {
  GIT_AUTHOR_NAME: 'Laptop',
  GIT_AUTHOR_EMAIL: 'laptop@example.invalid',
  GIT_COMMITTER_NAME: 'Laptop',
  GIT_COMMITTER_EMAIL: 'laptop@example.invalid',
};

interface StatusJson {
  sessions: SessionRecord[];
}

describe.skipIf(!zitiTestsEnabled())('ralph start --remote and ralph pull over OpenZiti', () => {
  const laptop = useCliSandbox();
  let box: CliSandbox;
  let net: TestNetwork;
  let setup: DaemonSetup;
  let daemon: DaemonProcess;
  let git: GitRun;
  let repo: string;
  const service = uniqueName('ralph-start-remote');

  beforeAll(async () => {
    await ensureCliBuilt();
    net = await acquireTestNetwork();
    await createDaemonService(net, service);
    box = new CliSandbox();
    setup = writeDaemonConfig(box, {
      identity: net.identities.server.file,
      service,
      roles: { [(await loadIdentity(net.identities.client.file)).name]: 'control' },
    });
    daemon = await startDaemonProcess(box, setup, []);
    const root = join(laptop().root, 'work');
    mkdirSync(root, { recursive: true });
    git = gitRunner(root, helperBinDir(root), { RALPH_HOME: laptop().home });
    repo = join(root, 'proj');
    await gitOk(git, root, ['init', '-q', '-b', 'main', repo]);
    writeFileSync(join(repo, 'README.md'), 'a project\n');
    addTask('feat', 'ralph/feat', [
      { writeFile: { path: 'work.txt', content: 'done by the agent\n' } },
      { passAll: true },
    ]);
    await gitOk(git, repo, ['add', '-A']);
    await gitOk(git, repo, ['commit', '-q', '-m', 'task feat']);
  }, 120_000);

  afterAll(async () => {
    await closeZitiContexts();
    await daemon?.stop('SIGTERM');
    await box?.dispose();
    if (net !== undefined) {
      await net.ziti(['edge', 'delete', 'service', service]).catch(() => undefined);
      await net.stop();
    }
  });

  /** A task folder `tasks/<name>` whose agent runs the fake agent's `script`, then commits everything. */
  function addTask(name: string, branch: string, script: unknown[]): string {
    const dir = join(repo, 'tasks', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'prd.json'), JSON.stringify(prdJson(1, branch), null, 2) + '\n');
    writeFileSync(join(dir, 'prompt.md'), '# Fixture prompt\n');
    const scriptFile = join(laptop().root, `${name}-script.json`);
    writeFileSync(scriptFile, JSON.stringify(script));
    return dir;
  }

  function agentCmd(name: string): string {
    const scriptFile = join(laptop().root, `${name}-script.json`);
    const commit =
      'git add -A && git -c user.name=Box -c user.email=box@example.invalid commit -q -m "agent: work on ' +
      name +
      '"';
    return `sh -c '"${process.execPath}" "${FAKE_AGENT}" --script "${scriptFile}" && ${commit}'`;
  }

  /** `ralph start tasks/<name> --remote box` with the task's committing fake agent, then `extra`. */
  const startRemote = (name: string, extra: string[] = []) =>
    ralph([
      'start',
      `tasks/${name}`,
      '--remote',
      'box',
      '--agent',
      'custom',
      '--agent-cmd',
      agentCmd(name),
      ...extra,
    ]);

  const ralph = (args: string[], timeoutMs = 90_000) =>
    laptop().ralph(args, { cwd: repo, env: GIT_ID, timeoutMs });

  async function ok(args: string[]): Promise<string> {
    const r = await ralph(args);
    if (r.exitCode !== 0)
      throw new Error(`ralph ${args.join(' ')} exited ${r.exitCode}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  const boxRepo = (): string => join(setup.workspace, 'repos', 'proj.git');
  const boxRev = (ref: string): Promise<string> => gitOk(git, boxRepo(), ['rev-parse', ref]);

  async function statusOf(task: string): Promise<SessionRecord | undefined> {
    const json = JSON.parse(await ok(['status', '--json', '--remote-timeout', '5s'])) as StatusJson;
    return json.sessions.find((s) => s.task === task && s.remoteName === 'box');
  }

  /** bytes_in + bytes_out of the daemon's last receive-pack of `proj`. */
  function lastPushBytes(): number {
    const line = daemon.log.filter((l) => l.includes('git git-receive-pack of proj ended')).at(-1);
    if (line === undefined) throw new Error(`no push in the daemon log:\n${daemon.log.join('\n')}`);
    const fields = JSON.parse(line) as { bytes_in: number; bytes_out: number };
    return fields.bytes_in + fields.bytes_out;
  }

  it('remote add, start --remote, the client exits, the loop commits and completes, status sees it, pull brings the commits home', async () => {
    await ok(['remote', 'add', 'box', '--identity', net.identities.client.file, '--service', service]);
    const pushed = await gitOk(git, repo, ['rev-parse', 'HEAD']);
    const started = performance.now();
    const r = await startRemote('feat', ['--max-iterations', '3', '--json']);
    const startMs = performance.now() - started;
    // The client process has exited here: everything after is a new process.
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Writing objects|Total \d+/); // git's progress reached the user
    const row = JSON.parse(r.stdout) as SessionRecord & {
      project: string;
      commit: string;
      snapshot: boolean;
    };
    expect(row).toMatchObject({
      task: 'feat',
      location: 'remote',
      transport: 'ziti',
      remoteName: 'box',
      address: service,
      branch: 'ralph/feat',
      project: 'proj',
      commit: pushed,
      snapshot: false,
    });
    expect(row.worktree).toMatch(new RegExp(`^${setup.workspace}/worktrees/proj/feat-[0-9a-f]{8}$`));
    expect(row.taskDir).toBe(join(row.worktree!, 'tasks', 'feat'));
    console.log(`[start --remote] push + start_loop: ${startMs.toFixed(0)} ms`);

    let last: SessionRecord | undefined;
    await waitFor(
      async () => {
        last = await statusOf('feat');
        return (
          last !== undefined &&
          ['completed', 'failed', 'crashed', 'stalled', 'exhausted'].includes(last.status)
        );
      },
      'the remote loop to end',
      90_000,
    );
    expect(last?.status).toBe('completed');

    const boxHead = await boxRev('refs/heads/ralph/feat');
    expect(boxHead).not.toBe(pushed);
    expect(await boxRev('refs/heads/ralph/feat^')).toBe(pushed); // the agent's one commit on top
    const pulled = JSON.parse(await ok(['pull', 'box:feat', '--json'])) as Record<string, unknown>;
    expect(pulled).toMatchObject({
      outcome: 'created',
      local_branch: 'ralph/feat',
      commit: boxHead,
      project: 'proj',
    });
    expect(await gitOk(git, repo, ['rev-parse', 'refs/heads/ralph/feat'])).toBe(boxHead);
    expect(await gitOk(git, repo, ['show', 'ralph/feat:tasks/feat/work.txt'])).toBe('done by the agent');
    expect(await gitOk(git, repo, ['log', '-1', '--format=%s', 'ralph/feat'])).toBe('agent: work on feat');
    // A second pull has nothing new.
    const again = JSON.parse(await ok(['pull', 'feat', '--json'])) as Record<string, unknown>;
    expect(again).toMatchObject({ outcome: 'up-to-date', commit: boxHead });
  }, 240_000);

  it('a second start after one small commit sends about what a local git push sends', async () => {
    await gitOk(git, repo, ['checkout', '-q', 'ralph/feat']);
    const local = join(laptop().root, 'work', 'local.git');
    await gitOk(git, repo, ['init', '-q', '--bare', local]);
    await gitOk(git, repo, ['push', '-q', local, 'ralph/feat']);
    writeFileSync(join(repo, 'tasks', 'feat', 'notes.md'), 'one more line\n');
    await gitOk(git, repo, ['add', '-A']);
    await gitOk(git, repo, ['commit', '-q', '-m', 'a small change']);

    const r = await startRemote('feat', ['--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await boxRev('refs/heads/ralph/feat~0')).toBeTruthy();
    const overlay = lastPushBytes();

    const counter = join(import.meta.dirname, '..', 'git', 'count-receive-pack.mjs');
    const countFile = join(laptop().root, 'count.json');
    await gitOk(
      git,
      repo,
      ['push', '-q', `--receive-pack=node ${counter}`, `file://${local}`, 'ralph/feat'],
      {
        COUNT_FILE: countFile,
      },
    );
    const c = JSON.parse(readFileSync(countFile, 'utf8')) as { sent: number; received: number };
    const plain = c.sent + c.received;
    console.log(
      `[incremental] one small commit: ralph start --remote ${overlay} B, local git push ${plain} B (×${(overlay / plain).toFixed(2)})`,
    );
    expect(overlay).toBeLessThanOrEqual(plain * 1.2);
    // Its worktree is a new one; the earlier loop's stays as it was.
    const row = JSON.parse(r.stdout) as SessionRecord;
    expect(row.worktree).not.toBeNull();
    expect(existsSync(join(row.worktree!, 'tasks', 'feat', 'notes.md'))).toBe(true);
    await waitFor(
      async () => {
        const s = await statusOf('feat');
        return s !== undefined && s.status !== 'running' && s.status !== 'starting';
      },
      'the second loop to end',
      90_000,
    );
    await gitOk(git, repo, ['checkout', '-q', 'main']);
  }, 240_000);

  it('pull never overwrites local work: a diverged or dirty checked-out branch gets a side branch', async () => {
    const boxHead = await boxRev('refs/heads/ralph/feat');
    await gitOk(git, repo, ['checkout', '-q', 'ralph/feat']);
    await gitOk(git, repo, ['reset', '-q', '--hard', `${boxHead}~1`]);
    // Behind the box and checked out, with a change to a tracked file: nothing here moves.
    writeFileSync(join(repo, 'README.md'), 'edited, not committed\n');
    const dirty = JSON.parse(await ok(['pull', 'box:feat', '--json'])) as Record<string, unknown>;
    expect(dirty).toMatchObject({ outcome: 'side-branch', local_branch: 'ralph/box/feat', commit: boxHead });
    expect(dirty.reason).toMatch(/checked out here with uncommitted changes/);
    expect(await gitOk(git, repo, ['rev-parse', 'HEAD'])).toBe(await boxRev(`${boxHead}~1`));
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe('edited, not committed\n');
    // Clean now: a fast-forward of the checked-out branch.
    await gitOk(git, repo, ['checkout', '-q', '--', 'README.md']);
    const ff = JSON.parse(await ok(['pull', 'box:feat', '--json'])) as Record<string, unknown>;
    expect(ff).toMatchObject({ outcome: 'fast-forward', local_branch: 'ralph/feat', commit: boxHead });
    expect(await gitOk(git, repo, ['rev-parse', 'HEAD'])).toBe(boxHead);
    // A local commit the box lacks: diverged, the local branch keeps it.
    await gitOk(git, repo, ['reset', '-q', '--hard', `${boxHead}~1`]);
    writeFileSync(join(repo, 'mine.txt'), 'local work\n');
    await gitOk(git, repo, ['add', 'mine.txt']);
    await gitOk(git, repo, ['commit', '-q', '-m', 'local work']);
    const mine = await gitOk(git, repo, ['rev-parse', 'HEAD']);
    await gitOk(git, repo, ['checkout', '-q', 'main']);
    const diverged = JSON.parse(await ok(['pull', 'box:feat', '--json'])) as Record<string, unknown>;
    expect(diverged).toMatchObject({
      outcome: 'side-branch',
      local_branch: 'ralph/box/feat',
      commit: boxHead,
    });
    expect(diverged.reason).toMatch(/not a fast-forward/);
    expect(await gitOk(git, repo, ['rev-parse', 'refs/heads/ralph/feat'])).toBe(mine);
    expect(await gitOk(git, repo, ['rev-parse', 'refs/heads/ralph/box/feat'])).toBe(boxHead);
  }, 120_000);

  it('refuses a dirty task folder, and sends it as a snapshot with --include-uncommitted', async () => {
    addTask('dirty', 'ralph/dirty', [{ passAll: true }]);
    const statusBefore = await gitOk(git, repo, ['status', '--porcelain']);
    const refused = await startRemote('dirty', []);
    expect(refused.exitCode).toBe(4);
    expect(refused.stderr).toMatch(
      /task folder tasks\/dirty has 2 uncommitted change\(s\).*--include-uncommitted/s,
    );
    expect(
      (await git(boxRepo(), ['rev-parse', '--verify', '--quiet', 'refs/heads/ralph/dirty'])).exitCode,
    ).not.toBe(0);

    const r = await startRemote('dirty', ['--include-uncommitted', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { commit: string; snapshot: boolean };
    expect(out.snapshot).toBe(true);
    expect(await gitOk(git, boxRepo(), ['cat-file', '-p', `${out.commit}:tasks/dirty/prd.json`])).toContain(
      'ralph/dirty',
    );
    expect(await gitOk(git, boxRepo(), ['rev-parse', `${out.commit}^`])).toBe(
      await gitOk(git, repo, ['rev-parse', 'HEAD']),
    );
    // The user's own index and files are as they were; the temporary ref is gone.
    expect(await gitOk(git, repo, ['status', '--porcelain'])).toBe(statusBefore);
    expect(await gitOk(git, repo, ['for-each-ref', 'refs/ralph/'])).toBe('');
    await waitFor(
      async () => (await statusOf('dirty'))?.status === 'completed',
      'the snapshot loop to complete',
      90_000,
    );
  }, 240_000);

  it("refuses a bad branch name, and a push to a running loop's branch", async () => {
    addTask('dots', 'ralph/a..b', [{ passAll: true }]);
    addTask('hang', 'ralph/hang', [
      { print: 'AGENT-START' },
      { echo: { until: 'quit\r', timeoutMs: 120_000 } },
    ]);
    await gitOk(git, repo, ['add', '-A']);
    await gitOk(git, repo, ['commit', '-q', '-m', 'tasks dots and hang']);
    const dots = await ralph(['start', 'tasks/dots', '--remote', 'box']);
    expect(dots.exitCode).toBe(2);
    expect(dots.stderr).toMatch(/branch name "ralph\/a\.\.b" is not a valid git branch name/);

    const hang = await startRemote('hang', ['--json']);
    expect(hang.exitCode, hang.stderr).toBe(0);
    const before = await boxRev('refs/heads/ralph/hang');
    writeFileSync(join(repo, 'extra.txt'), 'x\n');
    await gitOk(git, repo, ['add', 'extra.txt']);
    await gitOk(git, repo, ['commit', '-q', '-m', 'extra']);
    const push = await git(repo, ['push', 'ralph::box/proj', 'HEAD:refs/heads/ralph/hang']);
    expect(push.exitCode).not.toBe(0);
    expect(String(push.stderr)).toMatch(/ralph: refused: refs\/heads\/ralph\/hang belongs to a running loop/);
    expect(await boxRev('refs/heads/ralph/hang')).toBe(before);
    // Starting it again while it runs is refused the same way, before any loop starts.
    const again = await ralph(['start', 'tasks/hang', '--remote', 'box']);
    expect(again.exitCode).not.toBe(0);
    expect(again.stderr).toMatch(/belongs to a running loop/);
    await ok(['stop', 'box:hang']);
  }, 240_000);

  it('the daemon refuses bad projects, branches and task paths, and unknown branches', async () => {
    const local = await LineClient.unix(setup.socket);
    await local.hello;
    try {
      const cases: [Record<string, string>, number, RegExp][] = [
        [
          { project: 'x/../../etc', branch: 'main', task_path: 't' },
          -32602,
          /project name .* one path segment/,
        ],
        [
          { project: 'proj', branch: 'ralph/a..b', task_path: 'tasks/feat' },
          -32602,
          /branch: .*must not contain ".."/,
        ],
        [
          { project: 'proj', branch: 'ralph/feat', task_path: '../../etc' },
          -32602,
          /task_path: must not contain '..'/,
        ],
        [{ project: 'proj', branch: 'ralph/feat', task_path: '/etc' }, -32602, /task_path: must be relative/],
        [
          { project: 'proj', branch: 'ralph/none', task_path: 'tasks/feat' },
          -32006,
          /has no branch ralph\/none/,
        ],
        [{ project: 'nothing', branch: 'main', task_path: 't' }, 1020, /no project nothing/],
        [{ project: 'proj', branch: 'ralph/feat' }, -32602, /all of project, branch and task_path/],
        [
          { project: 'proj', branch: 'ralph/feat', task_path: 'tasks/feat', task_dir: 'x' },
          -32602,
          /not both/,
        ],
      ];
      for (const [params, code, message] of cases) {
        const answer = await local.call('start_loop', { ...params, agent: 'custom', agent_command: 'true' });
        expect(answer.error?.code, JSON.stringify(params)).toBe(code);
        expect(answer.error?.message).toMatch(message);
      }
      expect(existsSync(join(setup.workspace, 'worktrees', 'nothing'))).toBe(false);
    } finally {
      local.close();
    }
  });
});
