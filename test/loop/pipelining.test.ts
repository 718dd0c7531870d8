/**
 * A hostile client against a real detached runner: one connection pipelines thousands of large `get_logs`
 * requests and never reads an answer. The runner's memory must stay bounded, and other clients keep being served.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type * as StartSources from '../../src/client/start.js';
import { RpcClient } from '../../src/protocol/index.js';
import { dialUnix } from '../../src/transport/unix.js';
import { isAlive } from '../../src/util/proc.js';
import { builtModule, ensureRunnerBuilt, makeTask, Sandbox, waitFor } from './helpers.js';

type StartModule = typeof StartSources;

let sb: Sandbox;
let startLoop: StartModule['startLoop'];
beforeAll(async () => {
  await ensureRunnerBuilt();
  ({ startLoop } = (await import(builtModule('src/client/start.js'))) as StartModule);
});
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
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
    const session = await startLoop(
      {
        taskDir: task.dir,
        agent: 'custom',
        agentCommand: task.agentCommand,
        iterationTimeoutMs: 0,
        idleTimeoutMs: 0,
      },
      sb.paths,
    );
    const pid = session.pid!;
    sb.defer(() => {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    });
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
