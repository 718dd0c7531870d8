#!/usr/bin/env node
/**
 * Bytes `ralph start --remote` and `ralph pull` send, against plain git on this machine (issue #11, acceptance
 * 2). On one OpenZiti test network: a repository of --mib MiB of incompressible files is sent to `ralph daemon`
 * with a first `ralph start --remote`; after one small commit, a second start sends only that commit. Its bytes
 * (the daemon's git session: in + out) are printed next to a `git push` of the same commit to a local bare
 * repository (counted the same way by test/git/count-receive-pack.mjs). Then the box commits once more and
 * `ralph pull` fetches only that commit (bytes printed).
 *
 *   node bench/start-remote-bytes.mjs [--mib 50]
 *
 * Target (printed, never asserted here; test/remote/start-remote.test.ts asserts it on a small repository):
 * the second start sends <= 1.2x the local push. Exits 0 with a notice without the ziti CLI, 2 without a build.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findZitiBinary, startTestNetwork } from '../scripts/ziti-testnet-lib.mjs';
import { provisionDaemon } from '../scripts/ziti-testnet/daemon-box.mjs';
import {
  DIST,
  ROOT,
  numberOption,
  removeDir,
  requireBuild,
  runMain,
  table,
  tempDir,
  verdict,
} from './lib/common.mjs';

const CLI = join(DIST, 'cli', 'main.js');
const COUNTER = join(ROOT, 'test', 'git', 'count-receive-pack.mjs');
const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

function run(cmd, args, cwd, env = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ...GIT_ENV, ...env },
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return r.stdout.trim();
}

/** Pseudo-random (incompressible) files, deterministic. */
function writeNoise(dir, mib) {
  mkdirSync(dir, { recursive: true });
  let x = 12345;
  for (let i = 0; i < mib; i++) {
    const buf = Buffer.alloc(1 << 20);
    for (let j = 0; j < buf.length; j += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      buf.writeInt32LE(x | 0, j);
    }
    writeFileSync(join(dir, `blob-${i}.bin`), buf);
  }
}

async function main() {
  requireBuild();
  if (!findZitiBinary()) {
    console.log('start-remote-bytes: no ziti CLI found; skipped');
    return;
  }
  const mib = numberOption('mib', 50, { min: 1, max: 1024 });
  const root = tempDir('start-remote');
  const net = await startTestNetwork();
  let daemon = null;
  try {
    const boxHome = join(root, 'box');
    const laptopHome = join(root, 'laptop');
    const workspace = join(root, 'workspace');
    mkdirSync(workspace, { recursive: true });
    const configFile = join(root, 'daemon.jsonc');
    const service = `ralph-bench-start-${process.pid}`;
    await provisionDaemon(net, { service, workspace, configFile, maxLoops: 4 });
    daemon = spawn(process.execPath, [CLI, 'daemon', '--config', configFile], {
      env: { ...process.env, RALPH_HOME: boxHome },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const log = [];
    let pending = '';
    daemon.stderr.on('data', (d) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop();
      log.push(...lines);
    });
    for (let i = 0; !log.some((l) => l.includes('daemon listening')); i++) {
      if (i > 600 || daemon.exitCode !== null) throw new Error(`the daemon did not start: ${log.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const ralph = (args, cwd) => run(process.execPath, [CLI, ...args], cwd, { RALPH_HOME: laptopHome });
    // The daemon's log is read between the synchronous runs: wait until the session's line has arrived.
    const lastSession = async (kind, seen) => {
      for (let i = 0; i < 100; i++) {
        const lines = log.filter((l) => l.includes(`git ${kind} of repo`));
        if (lines.length > seen) {
          const f = JSON.parse(lines.at(-1));
          return { bytes: f.bytes_in + f.bytes_out, seen: lines.length };
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no ${kind} session in the daemon log`);
    };
    ralph(['remote', 'add', 'box', '--identity', net.identities.client.file, '--service', service], root);

    const repo = join(root, 'repo');
    run('git', ['init', '-q', '-b', 'main', repo], root);
    writeNoise(join(repo, 'data'), mib);
    mkdirSync(join(repo, 'task'));
    writeFileSync(
      join(repo, 'task', 'prd.json'),
      JSON.stringify({
        project: 'Bench',
        branchName: 'ralph/bench',
        description: 'bytes sent by start --remote',
        userStories: [
          {
            id: 'US-001',
            title: 'done',
            description: 'already done',
            acceptanceCriteria: ['it is'],
            priority: 1,
            passes: true,
            notes: '',
          },
        ],
      }),
    );
    writeFileSync(join(repo, 'task', 'prompt.md'), '# bench\n');
    run('git', ['add', '-A'], repo);
    run('git', ['commit', '-q', '-m', 'data'], repo);
    const local = join(root, 'local.git');
    run('git', ['init', '-q', '--bare', local], root);
    run('git', ['push', '-q', local, 'main:refs/heads/ralph/bench'], repo);

    const start = [
      'start',
      'task',
      '--remote',
      'box',
      '--agent',
      'custom',
      '--agent-cmd',
      'true',
      '--max-iterations',
      '1',
      '--json',
    ];
    let t = performance.now();
    const first = JSON.parse(ralph(start, repo));
    const firstMs = performance.now() - t;
    const firstPush = await lastSession('git-receive-pack', 0);
    const firstBytes = firstPush.bytes;
    const waitEnded = async () => {
      for (let i = 0; i < 300; i++) {
        const s = JSON.parse(ralph(['status', '--json', '--remote-timeout', '5s'], repo));
        const row = s.sessions.find((r) => r.task === 'task' && r.remoteName === 'box');
        if (row && !['starting', 'running', 'waiting'].includes(row.status)) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error('the loop did not end');
    };
    await waitEnded();

    writeFileSync(join(repo, 'task', 'notes.md'), 'one small change\n');
    run('git', ['add', '-A'], repo);
    run('git', ['commit', '-q', '-m', 'small'], repo);
    t = performance.now();
    const second = JSON.parse(ralph(start, repo));
    const secondMs = performance.now() - t;
    const secondBytes = (await lastSession('git-receive-pack', firstPush.seen)).bytes;
    const countFile = join(root, 'count.json');
    run(
      'git',
      ['push', '-q', `--receive-pack=node ${COUNTER}`, `file://${local}`, 'main:refs/heads/ralph/bench'],
      repo,
      { COUNT_FILE: countFile },
    );
    const c = JSON.parse(readFileSync(countFile, 'utf8'));
    const localBytes = c.sent + c.received;
    await waitEnded();

    // One more commit on the box, then a pull: only that commit travels.
    writeFileSync(join(second.worktree, 'box.txt'), 'made on the box\n');
    run('git', ['add', 'box.txt'], second.worktree);
    run('git', ['commit', '-q', '-m', 'on the box'], second.worktree);
    ralph(['pull', 'box:task', '--json'], repo); // the branch does not exist here yet: the first pull creates it
    writeFileSync(join(second.worktree, 'box2.txt'), 'once more\n');
    run('git', ['add', 'box2.txt'], second.worktree);
    run('git', ['commit', '-q', '-m', 'on the box again'], second.worktree);
    const pulled = JSON.parse(ralph(['pull', 'box:task', '--json'], repo));
    const pullBytes = (await lastSession('git-upload-pack', 1)).bytes;

    console.log(
      `start --remote bytes, ${mib} MiB repository (first ${first.commit.slice(0, 8)}, then ${second.commit.slice(0, 8)})`,
    );
    console.log(
      table(
        ['step', 'bytes', 'ms'],
        [
          ['first start --remote (whole repository)', String(firstBytes), firstMs.toFixed(0)],
          ['second start --remote (one small commit)', String(secondBytes), secondMs.toFixed(0)],
          ['local git push of the same commit', String(localBytes), '-'],
          [`pull of one box commit (${pulled.outcome})`, String(pullBytes), '-'],
        ],
      ),
    );
    verdict(
      `second start ${secondBytes} B <= 1.2 x local push ${localBytes} B`,
      secondBytes <= 1.2 * localBytes,
    );
  } finally {
    daemon?.kill('SIGTERM');
    await net.stop();
    removeDir(root);
  }
}

runMain(main);
