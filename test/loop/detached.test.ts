/**
 * Detached runner processes: a full run watched through the client library, a runner killed outright, and a
 * hostile client that pipelines requests without reading (the runner's memory stays bounded).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AttachSession, type AttachEnd } from '../../src/client/attach.js';
import type * as StartSources from '../../src/client/start.js';
import { loopStatus } from '../../src/client/status.js';
import { sessionDir } from '../../src/config/paths.js';
import { RpcClient } from '../../src/protocol/index.js';
import { dialUnix } from '../../src/transport/unix.js';
import { isAlive } from '../../src/util/proc.js';
import {
  builtModule,
  childrenOf,
  ensureRunnerBuilt,
  gate,
  makeTask,
  Sandbox,
  sha256,
  waitFor,
  within,
} from './helpers.js';

type StartModule = typeof StartSources;

let sb: Sandbox;
/** From dist/: the sources' start.ts would look for runner-entry.js beside itself, where only .ts exists. */
let startLoop: StartModule['startLoop'];
let prepareLoop: StartModule['prepareLoop'];
let runnerEntry: string;
beforeAll(async () => {
  await ensureRunnerBuilt();
  ({
    startLoop,
    prepareLoop,
    RUNNER_ENTRY: runnerEntry,
  } = (await import(builtModule('src/client/start.js'))) as StartModule);
});
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

/** Kills a pid at cleanup if it is still alive (a runner or agent a failed test left behind). */
function reap(pid: number): void {
  sb.defer(() => {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
}

/** Starts a detached runner on `task` with no iteration or idle timeout. */
function startWithoutTimeouts(task: { dir: string; agentCommand: string }): ReturnType<typeof startLoop> {
  return startLoop(
    {
      taskDir: task.dir,
      agent: 'custom',
      agentCommand: task.agentCommand,
      iterationTimeoutMs: 0,
      idleTimeoutMs: 0,
    },
    sb.paths,
  );
}

describe('a detached runner', () => {
  it('runs to completion while a client attaches, and records the end', async () => {
    const task = await makeTask(sb, {
      stories: 2,
      script: { iterations: [gate('1')], steps: [{ print: 'working' }, { passStory: 'current' }] },
    });
    const session = await startLoop(
      {
        taskDir: task.dir,
        agent: 'custom',
        agentCommand: task.agentCommand,
        maxIterations: 5,
        idleTimeoutMs: 0,
      },
      sb.paths,
    );
    reap(session.pid!);
    expect(session).toMatchObject({
      status: 'running',
      task: task.name,
      location: 'local',
      transport: 'unix',
    });
    expect(session.pid).not.toBe(process.pid);

    const attach = await AttachSession.open(task.name, { from: 'start' }, sb.paths);
    const chunks: Buffer[] = [];
    attach.on('data', (chunk) => chunks.push(chunk));
    const ended = new Promise<AttachEnd>((resolve) => attach.once('end', resolve));
    await waitFor(() => Buffer.concat(chunks).includes('ECHO:READY'), 'the gate');
    expect(await attach.setInteractive(true)).toBe(true);
    expect(await attach.write('go\r')).toEqual({ status: 'forwarded' });
    await waitFor(() => Buffer.concat(chunks).includes('ECHO:DONE'), 'the gate to open');
    expect(await attach.setInteractive(false)).toBe(false);

    const end = await within(ended, 'the attach session to end', 30_000);
    expect(end).toEqual({ kind: 'ended', status: 'completed', reason: 'all stories pass' });
    const log = readFileSync(join(sessionDir(sb.paths, session), 'output.log'));
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(log));

    await waitFor(() => !isAlive(session.pid!), 'the runner to exit');
    const { sessions } = await loopStatus({ task: task.name }, sb.paths);
    expect(sessions[0]).toMatchObject({ id: session.id, status: 'completed', iteration: 3 });
  });

  it("writes how its loop ended to RALPH_TERMINATION_LOG, as a pod's termination message", async () => {
    const task = await makeTask(sb, { stories: 1, script: [{ print: 'one' }, { passStory: 'current' }] });
    const file = join(sb.root, 'termination-log');
    const saved = process.env.RALPH_TERMINATION_LOG;
    process.env.RALPH_TERMINATION_LOG = file;
    let session: Awaited<ReturnType<typeof startLoop>>;
    try {
      session = await startWithoutTimeouts(task);
    } finally {
      if (saved === undefined) delete process.env.RALPH_TERMINATION_LOG;
      else process.env.RALPH_TERMINATION_LOG = saved;
    }
    reap(session.pid!);
    await waitFor(() => !isAlive(session.pid!), 'the runner to exit');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      status: 'completed',
      exitReason: 'all stories pass',
      iteration: 1,
    });
  });

  /** A runner spawned by hand on a prepared loop, as a pod starts it, with `env` over this one's. */
  async function spawnRunner(
    script: unknown[],
    env: Record<string, string>,
  ): Promise<{ child: ChildProcess; exit: Promise<number | null>; sessionId: number; task: string }> {
    const task = await makeTask(sb, { stories: 1, script });
    const prepared = await prepareLoop(
      {
        taskDir: task.dir,
        agent: 'custom',
        agentCommand: task.agentCommand,
        iterationTimeoutMs: 0,
        idleTimeoutMs: 0,
      },
      sb.paths,
    );
    const child = spawn(process.execPath, [runnerEntry, prepared.launchFile], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    reap(child.pid!);
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, exit, sessionId: prepared.session.id, task: task.name };
  }

  it("ends failed, in its termination message, when its loop's files never arrive (RALPH_AWAIT_FILE)", async () => {
    const file = join(sb.root, 'termination-log');
    const { exit } = await spawnRunner([{ print: 'never runs' }], {
      RALPH_AWAIT_FILE: join(sb.root, 'never-written'),
      RALPH_AWAIT_TIMEOUT_MS: '1500',
      RALPH_TERMINATION_LOG: file,
    });
    expect(await within(exit, 'the runner to give up', 15_000)).toBe(0);
    const report = JSON.parse(readFileSync(file, 'utf8')) as { status: string; exitReason: string };
    expect(report).toMatchObject({ status: 'failed', iteration: 0 });
    expect(report.exitReason).toMatch(/files did not arrive within 2 s/);
  });

  it('waits for its files before it starts, and after its end holds until it is let go (RALPH_HOLD_FILE)', async () => {
    const file = join(sb.root, 'termination-log');
    const arrived = join(sb.root, 'delivered');
    const collected = join(sb.root, 'collected');
    const runner = await spawnRunner([{ print: 'one' }, { passStory: 'current' }], {
      RALPH_AWAIT_FILE: arrived,
      RALPH_HOLD_FILE: collected,
      RALPH_TERMINATION_LOG: file,
    });
    await new Promise((resolve) => setTimeout(resolve, 700));
    // Waiting for its files: no loop yet.
    expect((await loopStatus({ task: runner.task }, sb.paths)).sessions[0]).toMatchObject({
      status: 'starting',
    });
    writeFileSync(arrived, '');
    await waitFor(
      async () => (await loopStatus({ task: runner.task }, sb.paths)).sessions[0]?.status === 'completed',
      'the loop to end',
      20_000,
    );
    // Ended, and holding: alive, its end not reported to the cluster yet.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(runner.child.exitCode).toBeNull();
    expect(existsSync(file)).toBe(false);
    writeFileSync(collected, '');
    expect(await within(runner.exit, 'the runner to exit once let go', 15_000)).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      status: 'completed',
      exitReason: 'all stories pass',
      iteration: 1,
    });
  });

  it('is reported crashed once killed with SIGKILL, and its agent does not outlive it', async () => {
    const task = await makeTask(sb, { stories: 1, script: [{ print: 'hanging' }, { hang: true }] });
    const session = await startWithoutTimeouts(task);
    const runnerPid = session.pid!;
    reap(runnerPid);
    const [agentPid] = await waitFor(() => {
      const kids = childrenOf(runnerPid);
      return kids.length > 0 && kids;
    }, 'the agent process');
    reap(agentPid!);
    await waitFor(
      () => readFileSync(join(sessionDir(sb.paths, session), 'output.log')).includes('hanging'),
      'agent output',
    );

    const before = await loopStatus({ task: task.name }, sb.paths);
    expect(before.sessions[0]).toMatchObject({ status: 'running', pid: runnerPid });
    expect(before.reconciled.alive.map((s) => s.id)).toContain(session.id);

    process.kill(runnerPid, 'SIGKILL');
    await waitFor(() => !isAlive(runnerPid), 'the runner to die');
    const after = await loopStatus({ task: task.name }, sb.paths);
    // The agent may not have handled its SIGHUP yet when status looks; if so the reason says it still runs.
    expect(after.sessions[0]).toMatchObject({ id: session.id, status: 'crashed' });
    expect(after.sessions[0]!.exitReason).toMatch(
      new RegExp(
        `^runner process ${runnerPid} is gone(; its agent \\(pid ${agentPid}\\) is still running)?$`,
      ),
    );
    expect(after.reconciled.crashed.map((s) => s.id)).toEqual([session.id]);
    // The terminal went away with the runner: the agent got SIGHUP.
    await waitFor(() => !isAlive(agentPid!), 'the orphaned agent to exit');
  });
});

/** Resident memory of a process in bytes, from /proc/<pid>/status. */
function rssOf(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

const MiB = 1024 * 1024;
const REQUESTS = 20_000;

/** Writes every request as fast as the runner takes them, never reading; stops when the runner stops reading. */
async function flood(socket: Socket, deadlineMs: number): Promise<{ written: number; stalled: boolean }> {
  let written = 0;
  const end = Date.now() + deadlineMs;
  while (written < REQUESTS && Date.now() < end && !socket.destroyed) {
    const line = `{"jsonrpc":"2.0","id":${written},"method":"get_logs","params":{"offset":0,"limit":${MiB},"encoding":"base64"}}\n`;
    written += 1;
    if (socket.write(line)) continue;
    // The runner is not reading: wait a little for it, and give up when it does not come back.
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1500);
      socket.once('drain', () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!drained) return { written, stalled: !socket.destroyed };
  }
  return { written, stalled: false };
}

describe('a client that pipelines requests without reading', () => {
  it('costs the runner a bounded amount of memory, and other clients are still served', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      script: [{ printBytes: { count: 4 * MiB, pattern: 'pipelined output line\n' } }, { hang: true }],
    });
    const session = await startWithoutTimeouts(task);
    const pid = session.pid!;
    reap(pid);
    const socketPath = session.address;
    const other = new RpcClient(await dialUnix(socketPath), { defaultTimeoutMs: 10_000 });
    sb.defer(() => other.close());
    await waitFor(
      async () => (await other.request('get_status')).log_end_offset >= 4 * MiB,
      'four MiB of output in the log',
      30_000,
    );
    const before = rssOf(pid);

    let peak = before;
    const sampler = setInterval(() => {
      if (isAlive(pid)) peak = Math.max(peak, rssOf(pid));
    }, 10);
    const hostile = connect(socketPath);
    hostile.pause();
    hostile.on('error', () => undefined);
    sb.defer(() => hostile.destroy());
    await new Promise((resolve) => hostile.once('connect', resolve));

    const flooding = flood(hostile, 20_000);
    // Meanwhile another client asks for the status and a page of the log, and gets answers.
    const served: number[] = [];
    for (let i = 0; i < 20; i++) {
      const status = await other.request('get_status');
      const page = await other.request('get_logs', { offset: 0, limit: 1024 });
      expect(page.content.length).toBeGreaterThan(0);
      served.push(status.log_end_offset);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const result = await flooding;
    // Give the runner time to answer whatever it had read.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    clearInterval(sampler);
    peak = Math.max(peak, rssOf(pid));

    const growth = peak - before;
    console.log(
      `runner RSS before ${(before / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB ` +
        `(growth ${(growth / MiB).toFixed(0)} MiB); ${result.written} requests written, ` +
        `${result.stalled ? 'the runner stopped reading' : 'the connection ended or every request went out'}`,
    );
    expect(served).toHaveLength(20);
    expect(growth).toBeLessThan(200 * MiB);
    expect(isAlive(pid)).toBe(true);
    expect(await other.request('get_status')).toMatchObject({ status: 'running' });
  }, 90_000);
});
