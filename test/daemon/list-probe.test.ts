/**
 * `list_loops` reconciles the box's rows, but does not dial a runner the daemon already holds a connection to (its
 * event journal's watch): that connection proves the socket answers, and dialing 50 runners on every call woke
 * each of them and was most of what a remote `ralph status` waited for. A runner it holds no connection to is
 * still dialed. The runner here is a stand-in that counts connections: a Unix socket of this test answering
 * `subscribe`, with a live process (`sleep`) as its pid, so that only the socket decides.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensurePrivateDir } from '../../src/config/paths.js';
import { LineDecoder } from '../../src/protocol/framing.js';
import { Registry } from '../../src/registry/index.js';
import { processStartTime } from '../../src/util/proc.js';
import { useCliSandbox, waitFor } from '../cli/harness.js';
import { LineClient, startDaemonProcess, writeDaemonConfig } from './harness.js';

interface Counting {
  server: Server;
  /** Connections accepted so far. */
  accepted: number;
  /** Connections that sent `subscribe` and are still open. */
  subscribed: Set<Socket>;
  open: Set<Socket>;
}

/** A socket that answers every request with an empty result and counts who connects. */
function countingRunner(path: string): Promise<Counting> {
  const state: Counting = { server: createServer(), accepted: 0, subscribed: new Set(), open: new Set() };
  state.server.on('connection', (socket) => {
    state.accepted += 1;
    state.open.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      state.subscribed.delete(socket);
      state.open.delete(socket);
    });
    const lines = new LineDecoder({
      onLine: (line) => {
        const msg = JSON.parse(line) as { id?: number; method?: string };
        if (msg.method === 'subscribe') state.subscribed.add(socket);
        if (msg.id !== undefined)
          socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: {} })}\n`);
      },
    });
    socket.on('data', (chunk: Buffer) => lines.push(chunk));
  });
  return new Promise((resolve, reject) => {
    state.server.once('error', reject);
    state.server.listen(path, () => resolve(state));
  });
}

describe('list_loops and the runners the daemon already holds', () => {
  const sandbox = useCliSandbox();
  let sleeper: ChildProcess | undefined;
  let runner: Counting | undefined;

  afterEach(async () => {
    sleeper?.kill('SIGKILL');
    for (const socket of runner?.open ?? []) socket.destroy();
    await new Promise<void>((resolve) => (runner ? runner.server.close(() => resolve()) : resolve()));
  });

  it('does not dial a watched runner to list it, and dials it again once the watch is gone', async () => {
    ensurePrivateDir(sandbox().paths.runDir);
    const socketPath = join(sandbox().paths.runDir, 'held.sock');
    runner = await countingRunner(socketPath);
    sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    const pid = sleeper.pid!;
    await waitFor(() => processStartTime(pid) !== null, 'the stand-in process to start', 5_000);
    const registry = Registry.open(sandbox().paths.registryFile);
    try {
      registry.create({
        task: 'held',
        location: 'local',
        transport: 'unix',
        address: socketPath,
        agent: 'custom',
        taskDir: join(sandbox().root, 'tasks', 'held'),
        maxIterations: 3,
        status: 'running',
        pid,
        pidStartTime: processStartTime(pid),
      });
    } finally {
      registry.close();
    }
    const daemon = await startDaemonProcess(sandbox(), writeDaemonConfig(sandbox()));
    // The journal's watch connects and subscribes.
    await waitFor(() => runner!.subscribed.size === 1, 'the daemon to watch the loop', 15_000);
    const client = await LineClient.unix(daemon.socket);
    await client.hello;

    const before = runner.accepted;
    for (let i = 0; i < 5; i++) {
      const list = await client.ok<{ loops: { task: string; status: string }[] }>('list_loops');
      expect(list.loops).toEqual([expect.objectContaining({ task: 'held', status: 'running' })]);
    }
    expect(runner.accepted - before).toBe(0);

    // The watch is gone (the runner closed it): the next list dials the socket to know it answers.
    for (const socket of runner.subscribed) socket.destroy();
    await waitFor(() => runner!.subscribed.size === 0, 'the watch to close', 5_000);
    const unwatched = runner.accepted;
    // The daemon looks at the ended watch itself after 200 ms (a list of its own): let that pass first.
    await new Promise((r) => setTimeout(r, 600));
    const settled = runner.accepted;
    expect(settled).toBeGreaterThanOrEqual(unwatched);
    const list = await client.ok<{ loops: { task: string; status: string }[] }>('list_loops');
    expect(list.loops).toEqual([expect.objectContaining({ task: 'held', status: 'running' })]);
    expect(runner.accepted - settled).toBe(1);
    client.close();
  });
});
