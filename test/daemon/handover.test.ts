/**
 * `open_loop` hands a daemon connection over to one runner. What a client sent before it on the same connection
 * is answered first, on the daemon's lines, and only then the hand-over's answer comes and the bytes go to the
 * runner; `open_loop` (and `git_connect`) inside a JSON-RPC batch is refused, and the connection goes on.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { RpcClient } from '../../src/protocol/client.js';
import { useCliSandbox, waitFor } from '../cli/harness.js';
import {
  LineClient,
  startDaemonProcess,
  writeDaemonConfig,
  type DaemonProcess,
  type RpcAnswer,
} from './harness.js';

const ECHO_SCRIPT = [{ print: 'AGENT-START' }, { echo: { until: 'quit\r', timeoutMs: 60_000 } }];

describe('open_loop on a connection with other requests', () => {
  const sandbox = useCliSandbox();
  let daemon: DaemonProcess;

  beforeAll(async () => {
    const setup = writeDaemonConfig(sandbox());
    daemon = await startDaemonProcess(sandbox(), setup);
    const task = sandbox().makeTask('handed', { script: ECHO_SCRIPT });
    const c = await LineClient.unix(daemon.socket);
    await c.hello;
    await c.ok('start_loop', { task_dir: 'handed', agent: 'custom', agent_command: task.agentCmd });
    c.close();
  });

  it('answers every request sent before open_loop, then hands over', async () => {
    for (let round = 0; round < 5; round += 1) {
      const c = await LineClient.unix(daemon.socket);
      await c.hello;
      const answered: RpcAnswer[] = [];
      // Forwarded to the runner (a round trip each) and the daemon's own: all in flight when open_loop comes.
      const earlier = Array.from({ length: 12 }, (_, i) =>
        c
          .call(i % 3 === 2 ? 'list_loops' : 'get_status', i % 3 === 2 ? undefined : { task: 'handed' })
          .then((a) => answered.push(a)),
      );
      const opened = await c.ok('open_loop', { task: 'handed' });
      expect(opened).toMatchObject({ task: 'handed' });
      // The answers came before open_loop's: nothing is left waiting when the stream changes hands.
      expect(answered, `round ${round}`).toHaveLength(12);
      expect(answered.every((a) => a.error === undefined && a.result !== undefined)).toBe(true);
      await Promise.all(earlier);
      const rpc = new RpcClient(c.release());
      expect(await rpc.request('get_status')).toMatchObject({ task_name: 'handed' });
      rpc.close();
    }
  });

  it('refuses open_loop and git_connect inside a batch and keeps serving lines', async () => {
    const c = await LineClient.unix(daemon.socket);
    await c.hello;
    c.write(
      `${JSON.stringify([
        { jsonrpc: '2.0', id: 'a', method: 'open_loop', params: { task: 'handed' } },
        { jsonrpc: '2.0', id: 'b', method: 'list_loops' },
        {
          jsonrpc: '2.0',
          id: 'c',
          method: 'git_connect',
          params: { project: 'p', service: 'git-upload-pack' },
        },
      ])}\n`,
    );
    const answers = (await waitFor(
      () => c.orphans.find((o) => Array.isArray(o)),
      'the batch answer',
    )) as unknown as (RpcAnswer & { id: string })[];
    expect(answers).toHaveLength(3);
    const byId = new Map(answers.map((a) => [a.id, a]));
    expect(byId.get('a')!.error).toMatchObject({ code: -32600 });
    expect(byId.get('a')!.error!.message).toBe(
      'invalid request: open_loop hands the connection over and cannot be part of a batch; send it alone',
    );
    expect(byId.get('c')!.error!.message).toMatch(/git_connect .*cannot be part of a batch/);
    expect(byId.get('b')!.result).toHaveProperty('loops');
    // Still the daemon's connection: a forwarded request answers with the task tag of the daemon's routing.
    expect(await c.ok('get_status', { task: 'handed' })).toMatchObject({ task_name: 'handed' });
    await c.ok('stop_loop', { task: 'handed', force: true });
    c.close();
  });
});
