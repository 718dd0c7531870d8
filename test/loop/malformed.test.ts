/** Malformed input against a real running loop: each gets its JSON-RPC error, and the loop carries on. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RpcError } from '../../src/protocol/index.js';
import { makeTask, RawPeer, Sandbox, startInProcess, Watcher } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

const TICKS = Array.from({ length: 400 }, (_, i) => [{ print: `tick ${i}` }, { sleep: 25 }]).flat();

describe('malformed input against a running loop', () => {
  it('answers each bad line with the right error while another client keeps receiving events', async () => {
    const task = await makeTask(sb, { stories: 1, script: TICKS });
    const loop = await startInProcess(sb, task);
    const watcher = await Watcher.open(sb, loop.socketPath);
    await watcher.client.request('subscribe', { events: ['output'] });
    await watcher.until((w) => w.lines.some((l) => l.startsWith('tick')), 'the first tick');
    const raw = await RawPeer.open(sb, loop.socketPath);

    expect(await raw.ask('{"jsonrpc":"2.0","id":1,"method":\n')).toMatchObject({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32700, message: expect.stringMatching(/^parse error/) },
    });

    const huge = `{"jsonrpc":"2.0","id":2,"method":"inject_prompt","params":{"prompt":"${'a'.repeat(1_200_000)}"}}\n`;
    expect(await raw.ask(huge)).toMatchObject({
      id: null,
      error: { code: -32600, message: 'line too long: over 1048576 bytes', data: { limit: 1048576 } },
    });

    expect(await raw.ask('{"jsonrpc":"2.0","id":3,"method":"launch_rockets"}\n')).toMatchObject({
      id: 3,
      error: { code: -32601, message: 'method not found: "launch_rockets"' },
    });

    const badCount = await raw.ask(
      '{"jsonrpc":"2.0","id":4,"method":"add_iterations","params":{"count":"ten"}}\n',
    );
    expect(badCount).toMatchObject({ id: 4, error: { code: -32602 } });
    expect((badCount.error as { message: string }).message).toMatch(
      /^invalid params for add_iterations: count: /,
    );

    const unknownField = await raw.ask('{"jsonrpc":"2.0","id":5,"method":"get_logs","params":{"bogus":1}}\n');
    expect(unknownField).toMatchObject({
      id: 5,
      error: { code: -32602, data: { issues: [{ path: 'bogus', message: 'unknown field' }] } },
    });

    expect(await raw.ask('{"jsonrpc":"1.0","id":6,"method":"get_status"}\n')).toMatchObject({
      id: 6,
      error: { code: -32600, message: 'invalid request: "jsonrpc" must be "2.0"' },
    });
    expect(await raw.ask('[]\n')).toMatchObject({ id: null, error: { code: -32600 } });

    // The same connection still serves, and the loop has not noticed a thing.
    const status = await raw.ask('{"jsonrpc":"2.0","id":7,"method":"get_status"}\n');
    expect(status).toMatchObject({
      id: 7,
      result: { status: 'running', task_name: task.name, iteration: 1 },
    });
    expect(loop.runner.state.interactive).toBe(false);
    const seen = watcher.lines.length;
    await watcher.until((w) => w.lines.length >= seen + 3, 'more output events');

    // The typed client sees the same errors as RpcError.
    const unknown = await watcher.client.call('launch_rockets', {}).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(RpcError);
    expect(unknown).toMatchObject({ kind: 'METHOD_NOT_FOUND', code: -32601 });
    const bad = await watcher.client.call('resize', { cols: 0, rows: 24 }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ kind: 'INVALID_PARAMS', code: -32602 });
    expect((bad as RpcError).message).toMatch(/cols/);

    expect(loop.runner.state).toMatchObject({ status: 'running', cols: 80, rows: 24 });
    await watcher.client.request('stop', { force: true });
    expect(await loop.finished()).toMatchObject({ status: 'stopped' });
  });
});
