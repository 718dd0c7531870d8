/**
 * Issue #10, acceptance items 1 and 2, end to end with real parts: the box (`ralph daemon` and its runners)
 * in a network namespace whose only route is a veth to the root namespace, where a private OpenZiti network
 * listens; the laptop (the `ralph` CLI with another RALPH_HOME) in the root namespace. The fake agent plays
 * the coding agent in real PTYs. Needs root, `ip netns`, the ziti CLI and the build (dist/).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonClient, closeZitiContexts } from '../../src/client/remote/daemon-client.js';
import type { LoopEvent } from '../../src/client/remote/daemon-types.js';
import type { Remote } from '../../src/client/remote/remotes.js';
import { isAlive } from '../../src/util/proc.js';
import { sessionDir } from '../../src/config/paths.js';
import { ROOT, ensureCliBuilt } from '../cli/built.js';
import { jsonLines } from '../support/json-lines.js';
import { listeningSockets } from '../support/listening.js';
import { netnsTestsEnabled } from '../support/netns.js';
import { waitFor } from '../support/wait.js';
import { zitiTestsEnabled } from '../ziti/network.js';
import { REMOTE, createBox, type Box } from './box.js';

interface StatusRow {
  id: number;
  task: string;
  status: string;
  location: string;
  remoteName: string | null;
}
interface StatusJson {
  sessions: StatusRow[];
  reconciled: { unreachable: number[] };
  remotes: Array<{ name: string; reachable: boolean; ms: number; error: string | null }>;
}

const RECORDER = join(import.meta.dirname, 'fixtures', 'attach-recorder.mjs');
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Polls `probe` until it returns a value or `timeoutMs` passes; then undefined (for soft expectations). */
async function eventually<T>(probe: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  return waitFor(probe, 'a value', timeoutMs).catch(() => undefined);
}

const echoUntil = (until: string) => ({ echo: { until, timeoutMs: 300_000 } });

describe.skipIf(!netnsTestsEnabled() || !zitiTestsEnabled())('remote daemon acceptance (issue #10)', () => {
  let env: Box;
  let remote: Remote;

  async function status(timeout = '5s'): Promise<StatusJson> {
    const r = await env.laptop.ralph(['status', '--json', '--remote-timeout', timeout], {
      timeoutMs: 60_000,
    });
    if (r.exitCode !== 0 && r.stdout.trim() === '') throw new Error(`ralph status failed:\n${r.stderr}`);
    return JSON.parse(r.stdout) as StatusJson;
  }

  async function startRemote(name: string, agentCmd: string): Promise<void> {
    const r = await env.laptop.ralph(
      ['remote', 'start-loop', REMOTE, name, '--agent', 'custom', '--agent-command', agentCmd],
      {
        timeoutMs: 60_000,
      },
    );
    if (r.exitCode !== 0)
      throw new Error(`ralph remote start-loop exited ${r.exitCode}:\n${r.stdout}${r.stderr}`);
  }

  /** Events of the box's journal, from a daemon connection of the test process (the laptop's identity). */
  async function subscribe(
    events: LoopEvent[],
    sinceSeq?: number,
  ): Promise<{ client: DaemonClient; seq: number }> {
    const client = await DaemonClient.open(remote, { timeoutMs: 30_000 });
    const result = await client.subscribeEvents((e) => events.push(e), sinceSeq);
    return { client, seq: result.seq };
  }

  beforeAll(async () => {
    await ensureCliBuilt();
    env = await createBox();
    remote = { name: REMOTE, identity: env.net.identities.client.file, service: env.service };
    await env.startDaemon();
    await env.waitReachable('the daemon in the namespace to be reachable over the overlay');
  }, 300_000);

  afterAll(async () => {
    await closeZitiContexts().catch(() => undefined);
    await env?.destroy();
  }, 120_000);

  it('item 1: start_loop, status, attach with keys, completion event, status after a client restart; nothing listens', async () => {
    const task = env.box.makeTask('remote-echo', {
      script: [{ print: 'AGENT-START' }, echoUntil('quit\r'), { passAll: true }],
    });
    const events: LoopEvent[] = [];
    const { client: watcher } = await subscribe(events);
    try {
      await startRemote(task.name, task.agentCmd);

      const listed = await status();
      expect(listed.sessions.find((s) => s.task === task.name)).toMatchObject({
        status: 'running',
        location: 'remote',
        remoteName: REMOTE,
      });

      // The daemon and its runner (and the agent under it) hold no listening TCP or UDP socket.
      const runner = env.box.session(task.name).pid;
      expect(runner).not.toBeNull();
      const inBox = env.ns.pids();
      expect(inBox).toContain(env.daemon!.pid);
      expect(inBox).toContain(runner);
      expect(listeningSockets(inBox)).toEqual([]);

      const term = env.laptop.term(['attach', task.name, '--interactive']);
      await term.waitFor('ECHO:READY', 'the remote agent through ralph attach', { timeoutMs: 60_000 });
      await term.waitFor('you have the keyboard', 'the keyboard over the overlay', { timeoutMs: 30_000 });
      term.write('hi');
      await term.waitFor('ECHO:"hi"', 'the keys echoed over the overlay', { timeoutMs: 30_000 });
      term.write('quit\r');
      await term.waitFor('loop completed', 'the completion shown by ralph attach', { timeoutMs: 60_000 });

      const completed = await eventually(
        () => events.find((e) => e.type === 'loop_completed' && e.task === task.name),
        60_000,
      );
      expect.soft(completed, 'the loop_completed event from the daemon').toBeDefined();
      // Like a local attach, a remote one ends by itself (exit 0) once its loop has completed.
      const exit = await term.exited('attach to end when the remote loop completes').catch(() => undefined);
      expect.soft(exit?.exitCode, 'ralph attach exit code after the remote loop completed').toBe(0);
    } finally {
      watcher.close();
    }
    // A fresh `ralph status` process (the laptop client restarted) shows the remote loop's true end.
    const after = await status();
    expect(after.sessions.find((s) => s.task === task.name)).toMatchObject({ status: 'completed' });
  }, 300_000);

  it('item 2: a client killed mid-attach reattaches from its offset with no gap (stream hash = log hash)', async () => {
    const chunk = { printBytes: { count: 64_000, pattern: '0123456789abcdefghijklmnopqrstuvwxyz\n' } };
    const steps = Array.from({ length: 40 }, () => [chunk, { sleep: 150 }]).flat();
    const task = env.box.makeTask('streamer', { script: [{ print: 'STREAM' }, ...steps, { passAll: true }] });
    await startRemote(task.name, task.agentCmd);
    const record = join(env.laptop.root, 'attach-stream.bin');
    const recorder = (from: number) => {
      const child = spawn(process.execPath, [RECORDER, join(ROOT, 'dist'), task.name, String(from), record], {
        env: env.laptop.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-3000)));
      return { child, out: jsonLines(child.stdout, () => stderr) };
    };
    const size = () => (existsSync(record) ? statSync(record).size : 0);

    const first = recorder(0);
    await first.out.waitFor((l) => 'open' in l, 'the first attach', 60_000);
    await waitFor(() => size() > 300_000, 'some of the stream to arrive', 60_000);
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    const resumeAt = size();
    expect(first.out.lines.some((l) => 'end' in l)).toBe(false);

    const second = recorder(resumeAt);
    const end = await second.out.waitFor(
      (l) => 'end' in l,
      'the loop to end under the second attach',
      180_000,
    );
    expect(end.end).toMatchObject({ kind: 'ended', status: 'completed' });
    const session = env.box.session(task.name);
    expect(session.status).toBe('completed');
    const log = readFileSync(join(sessionDir(env.box.paths, session), 'output.log'));
    const stream = readFileSync(record);
    console.log(
      `[acceptance] attach stream ${stream.length} bytes, resumed at ${resumeAt}; output log ${log.length} bytes`,
    );
    expect(stream.length).toBe(log.length);
    expect(sha256(stream)).toBe(sha256(log));
  }, 300_000);

  it('item 2: a daemon killed mid-loop leaves the loop running; the restarted daemon serves it and replays the journal', async () => {
    const long = env.box.makeTask('survivor', {
      script: [{ print: 'SURVIVOR' }, echoUntil('done\r'), { passAll: true }],
    });
    const short = env.box.makeTask('finisher', {
      script: [{ print: 'FINISHER' }, { sleep: 6_000 }, { passAll: true }],
    });
    const before: LoopEvent[] = [];
    const first = await subscribe(before);
    await startRemote(long.name, long.agentCmd);
    await startRemote(short.name, short.agentCmd);
    await new Promise((r) => setTimeout(r, 2_000));
    const seenSeq = Math.max(first.seq, ...before.map((e) => e.seq));
    first.client.close();

    const runners = [long, short].map((t) => env.box.session(t.name).pid!);
    const oldPid = env.daemon!.pid;
    await env.daemon!.stop('SIGKILL');
    expect(isAlive(oldPid)).toBe(false);
    // Both runners keep running without the daemon; the short one then completes while nobody watches.
    for (const pid of runners) expect(isAlive(pid)).toBe(true);
    await env.box.waitForSession(
      short.name,
      (s) => s.status === 'completed',
      'the finisher to complete',
      60_000,
    );
    expect(isAlive(runners[0]!)).toBe(true);

    await env.startDaemon();
    await env.waitReachable('the restarted daemon');
    const after = await status();
    expect(after.sessions.find((s) => s.task === long.name)).toMatchObject({ status: 'running' });
    expect(after.sessions.find((s) => s.task === short.name)).toMatchObject({ status: 'completed' });

    // The restarted daemon serves the surviving loop: keys reach it over the overlay.
    const term = env.laptop.term(['attach', long.name, '--interactive']);
    await term.waitFor('SURVIVOR', 'the survivor through the restarted daemon', { timeoutMs: 60_000 });
    await term.waitFor('you have the keyboard', 'the keyboard', { timeoutMs: 30_000 });
    term.write('done\r');
    await term.waitFor('loop completed', 'the survivor to complete', { timeoutMs: 60_000 });
    const exit = await term.exited('attach to end with the survivor').catch(() => undefined);
    expect.soft(exit?.exitCode, 'ralph attach exit code after the survivor completed').toBe(0);

    // What happened while the daemon was down reaches a client that asks for events after its last seq.
    const replay: LoopEvent[] = [];
    const second = await subscribe(replay, seenSeq);
    try {
      const missed = await eventually(
        () => replay.find((e) => e.type === 'loop_completed' && e.task === short.name),
        30_000,
      );
      expect(
        missed,
        `the loop_completed of the finisher, replayed since seq ${seenSeq}; replayed: ${JSON.stringify(replay)}`,
      ).toBeDefined();
      expect(replay.every((e) => e.seq > seenSeq)).toBe(true);
    } finally {
      second.client.close();
    }
  }, 300_000);

  it('item 2: a 60 s network cut makes the remote unreachable; it recovers without a daemon restart', async () => {
    const task = env.box.makeTask('cut-through', {
      script: [{ print: 'CUT' }, echoUntil('end\r'), { passAll: true }],
    });
    await startRemote(task.name, task.agentCmd);
    const daemonPid = env.daemon!.pid;
    const cutAt = Date.now();
    env.ns.cut();
    let during: StatusJson;
    let elapsed: number;
    try {
      const started = Date.now();
      during = await status('3s');
      elapsed = Date.now() - started;
      const wait = cutAt + 60_000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    } finally {
      env.ns.restore();
    }
    console.log(`[acceptance] ralph status during the cut took ${elapsed} ms with --remote-timeout 3s`);
    expect(during.remotes.find((r) => r.name === REMOTE)).toMatchObject({ reachable: false });
    const row = during.sessions.find((s) => s.task === task.name);
    expect(row).toBeDefined();
    // Its rows become unreachable (not lost, not crashed) while the remote cannot be asked.
    expect(during.reconciled.unreachable).toContain(row!.id);
    expect(row!.status).toBe('unreachable');

    const restoredAt = Date.now();
    await env.waitReachable('the daemon after the cut', 150_000);
    console.log(`[acceptance] reachable again ${Date.now() - restoredAt} ms after the link came back`);
    expect(env.daemon!.pid).toBe(daemonPid);
    expect(env.daemon!.child.exitCode).toBeNull();
    const after = await status();
    expect(after.remotes.find((r) => r.name === REMOTE)).toMatchObject({ reachable: true });
    expect(after.sessions.find((s) => s.task === task.name)).toMatchObject({ status: 'running' });
  }, 360_000);

  it('item 2: after an edge router restart and a controller restart the daemon is bound again', async () => {
    const daemonPid = env.daemon!.pid;
    await env.net.restartRouter();
    await env.waitReachable('the daemon after the router restart', 150_000);
    await env.net.restartController();
    await env.waitReachable('the daemon after the controller restart', 150_000);
    expect(env.daemon!.pid).toBe(daemonPid);
    expect(env.daemon!.child.exitCode).toBeNull();
  }, 360_000);
});
