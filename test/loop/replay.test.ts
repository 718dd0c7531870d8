/** Attach and reattach by byte offset: every byte of the output log arrives exactly once, in order. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RpcClient, RpcError } from '../../src/protocol/index.js';
import { dialUnix } from '../../src/transport/unix.js';
import { gate, makeTask, openGate, Sandbox, sha256, startInProcess, waitFor, Watcher } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

const logOf = (dir: string): Buffer => readFileSync(join(dir, 'output.log'));

describe('attach replay', () => {
  it('reattaching from offset N yields exactly the bytes after N', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      script: {
        iterations: [
          [
            { printBytes: { count: 200_000, pattern: '0123456789abcdef' } },
            { print: '\nphase one done' },
            ...gate('1'),
            { printBytes: { count: 300_000, pattern: 'ABCDEFGHIJ' } },
            { print: '\nphase two done' },
          ],
        ],
        steps: [{ printBytes: { count: 50_000, pattern: 'zyx' } }, { passStory: 'current' }],
      },
    });
    const loop = await startInProcess(sb, task);

    const first = await Watcher.open(sb, loop.socketPath);
    expect(await first.client.request('attach', { from_offset: 0 })).toMatchObject({ from_offset: 0 });
    const cut = 123_457;
    await first.until((w) => (w.nextOffset ?? 0) >= cut, `${cut} bytes`);
    const head = first.bytes().subarray(0, cut);
    first.client.close();
    expect(first.faults).toEqual([]);

    // Output goes on while nobody is attached.
    await waitFor(() => loop.lines.includes('phase one done'), 'phase one to finish');
    const second = await Watcher.open(sb, loop.socketPath);
    const attached = await second.client.request('attach', { from_offset: cut });
    expect(attached.from_offset).toBe(cut);
    expect(attached.replay_end).toBeGreaterThan(200_000);
    // Then live output races on behind the replay.
    await openGate(loop, second.client, 1);
    await loop.finished();
    await second.until((w) => w.closed !== null, 'the loop to close the connection');

    expect(second.firstOffset).toBe(cut);
    expect(second.faults).toEqual([]);
    const log = logOf(loop.dir);
    expect(log.length).toBeGreaterThan(550_000);
    expect(second.nextOffset).toBe(log.length);
    expect(sha256(Buffer.concat([head, second.bytes()]))).toBe(sha256(log));
  });

  it('has no gap and no duplicate when replay races continuous output', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      script: [
        { print: 'start' },
        { printBytes: { count: 600_000, pattern: 'The quick brown fox. ' } },
        { sleep: 100 },
        { printBytes: { count: 600_000, pattern: 'jumps over the dog! ' } },
        { passStory: 'current' },
      ],
    });
    const loop = await startInProcess(sb, task);
    const w = await Watcher.open(sb, loop.socketPath);
    // Attach while the agent is mid-stream, replaying from the very start.
    await waitFor(() => loop.runner.log.end > 100_000, 'the agent to be printing');
    const attached = await w.client.request('attach', { from_offset: 0 });
    expect(attached.replay_end).toBeGreaterThan(100_000);
    await loop.finished();
    await w.until((x) => x.closed !== null, 'the loop to close the connection');

    const log = logOf(loop.dir);
    expect(w.faults).toEqual([]);
    expect(w.firstOffset).toBe(0);
    expect(w.nextOffset).toBe(log.length);
    expect(sha256(w.bytes())).toBe(sha256(log));
  });

  it('delivers the whole log to a reader that fell behind before the loop ended', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      script: [{ printBytes: { count: 3_000_000, pattern: 'lagging reader ' } }, { passStory: 'current' }],
    });
    const loop = await startInProcess(sb, task);
    const socket = await dialUnix(loop.socketPath);
    const w = new Watcher(new RpcClient(socket, { defaultTimeoutMs: 10_000 }));
    sb.defer(() => w.client.close());
    await w.client.request('attach', { from_offset: 0 });
    // Stop reading: the kernel buffer and the server's window fill up while the agent keeps printing.
    socket.pause();
    await waitFor(() => sb.registryRow(loop.session.id)?.status === 'completed', 'the loop to complete');
    socket.resume();
    await loop.finished();
    await w.until((x) => x.closed !== null, 'the loop to close the connection');

    const log = logOf(loop.dir);
    expect(w.faults).toEqual([]);
    expect(w.nextOffset).toBe(log.length);
    expect(sha256(w.bytes())).toBe(sha256(log));
  });

  it('defaults to the current iteration and refuses offsets past the end', async () => {
    const task = await makeTask(sb, {
      stories: 2,
      script: { iterations: [[{ print: 'first iteration' }, { passStory: 'current' }], gate('2')] },
    });
    const loop = await startInProcess(sb, task);
    await waitFor(() => loop.lines.includes('ECHO:READY'), 'iteration 2 to wait at its gate');
    const w = await Watcher.open(sb, loop.socketPath);
    const { iterations } = await w.client.request('get_iterations');
    expect(iterations.map((i) => i.outcome)).toEqual(['progress', 'running']);
    const end = (await w.client.request('get_status')).log_end_offset;

    const err = await w.client.request('attach', { from_offset: end + 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ kind: 'OFFSET_OUT_OF_RANGE', data: { offset: end + 1, end_offset: end } });

    const attached = await w.client.request('attach', {});
    expect(attached.from_offset).toBe(iterations[1]!.start_offset);
    await w.until((x) => (x.nextOffset ?? 0) >= end, 'the replay');
    expect(w.text()).toContain('gate 2');
    expect(w.text()).not.toContain('first iteration');
    await w.client.request('detach');
    await w.client.request('stop', { force: true });
    expect(await loop.finished()).toMatchObject({ status: 'stopped' });
  });
});
