/**
 * Attach over binary frames against a real loop (real socket, real PTY, the fake agent): replay by offset,
 * keystrokes, keys without the keyboard, a slow reader, detach and the loop's end.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AttachSession, type AttachEnd, type AttachFrom } from '../../src/client/attach.js';
import { FRAME_TERMINAL } from '../../src/protocol/index.js';
import { dialUnix } from '../../src/transport/unix.js';
import { FramedPeer } from '../support/framed-peer.js';
import {
  gate,
  makeTask,
  Sandbox,
  seenLines,
  sha256,
  startInProcess,
  waitFor,
  within,
  ECHO_SCRIPT,
} from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

const logOf = (dir: string): Buffer => readFileSync(join(dir, 'output.log'));

interface Attached {
  attach: AttachSession;
  bytes: () => Buffer;
  dropped: string[];
  ended: Promise<AttachEnd>;
}

/** `AttachSession` as `ralph attach` opens it (binary frames), recording bytes and dropped-key reasons. */
async function attachTo(task: string, from: AttachFrom = 'start'): Promise<Attached> {
  const attach = await AttachSession.open(task, { from }, sb.paths);
  sb.defer(() => attach.detach());
  expect(attach.client.framing).toBe('binary');
  const chunks: Buffer[] = [];
  const dropped: string[] = [];
  attach.on('data', (chunk) => chunks.push(Buffer.from(chunk)));
  attach.on('dropped', (reason) => dropped.push(reason));
  const ended = new Promise<AttachEnd>((resolve) => attach.once('end', resolve));
  return { attach, bytes: () => Buffer.concat(chunks), dropped, ended };
}

async function framedPeer(socketPath: string): Promise<FramedPeer> {
  const peer = new FramedPeer(await dialUnix(socketPath));
  sb.defer(() => peer.socket.destroy());
  return peer;
}

describe('attach over binary frames', () => {
  it('replays from offset N exactly the bytes after N, then live output to the end', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      script: {
        iterations: [
          [
            { printBytes: { count: 200_000, pattern: '0123456789abcdef' } },
            { print: '\nphase one done' },
            ...gate('1'),
            { printBytes: { count: 300_000, pattern: 'ABCDEFGHIJ' } },
          ],
        ],
        steps: [{ printBytes: { count: 50_000, pattern: 'zyx' } }, { passStory: 'current' }],
      },
    });
    const loop = await startInProcess(sb, task);
    const first = await attachTo(task.name, 0);
    const cut = 123_457;
    await waitFor(() => first.bytes().length >= cut, `${cut} bytes`);
    const head = first.bytes().subarray(0, cut);
    await first.attach.detach();
    expect(await first.ended).toEqual({ kind: 'detached' });

    await seenLines(loop, 'ECHO:READY');
    const second = await attachTo(task.name, cut);
    await waitFor(() => second.bytes().includes('ECHO:READY'), 'the replay up to the gate');
    expect(await second.attach.setInteractive(true)).toBe(true);
    second.attach.type('go\r');
    await seenLines(loop, 'ECHO:DONE');
    expect(await second.attach.setInteractive(false)).toBe(false);

    expect(await within(second.ended, 'the end of the loop')).toEqual({
      kind: 'ended',
      status: 'completed',
      reason: 'all stories pass',
    });
    const log = logOf(loop.dir);
    expect(log.length).toBeGreaterThan(550_000);
    expect(second.attach.nextOffset).toBe(log.length);
    expect(sha256(Buffer.concat([head, second.bytes()]))).toBe(sha256(log));
    expect(second.dropped).toEqual([]);
  });

  it('round-trips keystrokes through terminal frames', async () => {
    const task = await makeTask(sb, { stories: 1, script: ECHO_SCRIPT });
    const loop = await startInProcess(sb, task);
    const a = await attachTo(task.name);
    await waitFor(() => a.bytes().includes('ECHO:READY'), 'the echo prompt');
    expect(await a.attach.setInteractive(true)).toBe(true);

    a.attach.type('hello');
    await waitFor(() => a.bytes().includes('ECHO:"hello"\r\n'), 'the echo in the terminal stream');
    a.attach.type(Buffer.from('\x1b[A\u00e9'));
    await waitFor(() => a.bytes().includes('ECHO:"\\u001b[Aé"'), 'an escape sequence and UTF-8 echoed');
    a.attach.type('quit\r');
    await seenLines(loop, 'ECHO:DONE');
    expect(await a.attach.setInteractive(false)).toBe(false);

    expect(await within(a.ended, 'the end of the loop')).toMatchObject({
      kind: 'ended',
      status: 'completed',
    });
    expect(sha256(a.bytes())).toBe(sha256(logOf(loop.dir)));
    expect(a.dropped).toEqual([]);
  });

  it('drops keys from a connection without the keyboard and says why, once per reason', async () => {
    const task = await makeTask(sb, { stories: 1, script: ECHO_SCRIPT });
    const loop = await startInProcess(sb, task);
    const holder = await attachTo(task.name);
    const other = await attachTo(task.name);
    await seenLines(loop, 'ECHO:READY');

    other.attach.type('early');
    other.attach.type('early again');
    await waitFor(() => other.dropped.length === 1, 'the first reason');
    expect(other.dropped).toEqual(['not in interactive mode']);

    expect(await holder.attach.setInteractive(true)).toBe(true);
    const label = (await holder.attach.client.request('get_status')).writer;
    other.attach.type('intruder');
    other.attach.type('intruder again');
    await waitFor(() => other.dropped.length === 2, 'the second reason');
    expect(other.dropped[1]).toBe(`the keyboard is held by ${label}`);

    // A hand-written framed peer that never asked for the keyboard sees the same.
    const peer = await framedPeer(loop.socketPath);
    peer.requestFrames(1, { from_offset: 0 });
    expect(await peer.reply('the attach response')).toMatchObject({ id: 1, result: { framing: 'binary' } });
    for (let i = 0; i < 5; i++) peer.sendFrame(FRAME_TERMINAL, 'peer keys');
    const event = await peer.next('the input_dropped event');
    expect(event).toMatchObject({
      method: 'event',
      params: { type: 'input_dropped', data: { reason: `the keyboard is held by ${label}`, bytes: 9 } },
    });

    holder.attach.type('quit\r');
    await seenLines(loop, 'ECHO:DONE');
    await holder.attach.setInteractive(false);
    await within(holder.ended, 'the end of the loop');
    const log = logOf(loop.dir).toString('utf8');
    expect(log).not.toMatch(/early|intruder|peer keys/);
    expect(
      peer.messages.filter((m: { params?: { type?: string } }) => m.params?.type === 'input_dropped'),
    ).toEqual([]);
    expect(other.dropped).toHaveLength(2);
    expect(holder.dropped).toEqual([]);
  });

  it('drops a framed reader that stops reading, and only that one', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      script: [
        { print: 'start' },
        ...gate('1'),
        { printBytes: { count: 6_000_000, pattern: `${'line of agent output '.repeat(3)}\n` } },
        { passStory: 'current' },
      ],
    });
    const loop = await startInProcess(sb, task);
    const reader = await attachTo(task.name);
    const slow = await framedPeer(loop.socketPath);
    slow.send({ jsonrpc: '2.0', id: 1, method: 'subscribe', params: { events: ['output'] } });
    expect(await slow.reply()).toMatchObject({ id: 1 });
    slow.requestFrames(2, { from_offset: 0 });
    expect(await slow.reply()).toMatchObject({ id: 2, result: { framing: 'binary' } });
    slow.socket.pause();

    await seenLines(loop, 'ECHO:READY');
    await reader.attach.setInteractive(true);
    reader.attach.type('go\r');
    await seenLines(loop, 'ECHO:DONE');
    await reader.attach.setInteractive(false);
    await waitFor(
      () => loop.logs.some((l) => /^dropping connection unix#\d+: slow consumer: \d+ bytes queued$/.test(l)),
      'the slow reader to be dropped',
    );
    expect(await within(reader.ended, 'the end of the loop', 60_000)).toMatchObject({ kind: 'ended' });
    expect(sha256(reader.bytes())).toBe(sha256(logOf(loop.dir)));
    slow.socket.resume();
    await waitFor(() => slow.ended, 'the slow reader to see its connection end');
  });

  it('stops terminal frames on detach and ends the stream cleanly with the loop', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      script: [{ print: 'before detach' }, ...gate('1'), { print: 'after detach' }, { passStory: 'current' }],
    });
    const loop = await startInProcess(sb, task);
    const peer = await framedPeer(loop.socketPath);
    peer.requestFrames(1, { from_offset: 0 });
    expect(await peer.reply()).toMatchObject({ id: 1, result: { from_offset: 0, framing: 'binary' } });
    await waitFor(() => peer.bytes().includes('ECHO:READY'), 'the gate in the terminal stream');
    peer.send({ jsonrpc: '2.0', id: 2, method: 'detach' });
    expect(await peer.reply()).toMatchObject({ id: 2, result: { detached: true } });
    const seen = peer.bytes().length;

    const driver = await attachTo(task.name);
    await driver.attach.setInteractive(true);
    driver.attach.type('go\r');
    await seenLines(loop, 'after detach');
    await driver.attach.setInteractive(false);
    // Still framed and still served, but no more terminal bytes.
    peer.send({ jsonrpc: '2.0', id: 3, method: 'get_status' });
    expect(await peer.reply()).toMatchObject({ id: 3, result: { task_name: task.name } });

    expect(await within(driver.ended, 'the end of the loop')).toMatchObject({ kind: 'ended' });
    await waitFor(() => peer.ended, 'the detached peer to be closed');
    expect(peer.bytes().length).toBe(seen);
    expect(peer.messages.at(-1)).toMatchObject({
      params: { type: 'disconnect', data: { reason: expect.any(String) } },
    });
    expect(peer.strange).toEqual([]);
    expect(sha256(driver.bytes())).toBe(sha256(logOf(loop.dir)));
  });

  it('answers a malformed request for frames with an error and keeps serving', async () => {
    const task = await makeTask(sb, { stories: 1, script: [{ print: 'waiting' }, ...gate('1')] });
    const loop = await startInProcess(sb, task);
    const watcher = await attachTo(task.name);
    const peer = await framedPeer(loop.socketPath);
    const end = loop.runner.log.end;

    peer.send({ jsonrpc: '2.0', id: 1, method: 'attach', params: { framing: 'morse' } });
    expect(await peer.reply()).toMatchObject({ id: 1, error: { code: -32602 } });
    peer.requestFrames(
      2,
      { from_offset: end + 1_000_000 },
      Buffer.from('{"jsonrpc":"2.0","id":3,"method":"peek"}\n'),
    );
    expect(await peer.reply()).toMatchObject({ id: 2, error: { code: 1003 } });
    expect(await peer.reply()).toMatchObject({ id: 3, result: { cols: 80, rows: 24 } });
    peer.send([{ jsonrpc: '2.0', id: 4, method: 'attach', params: { framing: 'binary' } }]);
    const batch = await peer.reply();
    expect(batch).toMatchObject([{ id: 4, error: { code: -32602 } }]);
    expect(batch[0].error.message).toMatch(/request of its own/);
    peer.send({ jsonrpc: '2.0', method: 'attach', params: { framing: 'binary' } });
    peer.send({ jsonrpc: '2.0', id: 5, method: 'get_status' });
    expect(await peer.reply()).toMatchObject({ id: 5, result: { status: 'running' } });
    expect(peer.framed).toBe(false);
    expect(peer.bytes().length).toBe(0);

    // A good request still switches, and there is no way back.
    peer.requestFrames(6, { from_offset: 0 });
    expect(await peer.reply()).toMatchObject({ id: 6, result: { framing: 'binary' } });
    peer.send({ jsonrpc: '2.0', id: 7, method: 'attach', params: { framing: 'ndjson' } });
    expect(await peer.reply()).toMatchObject({ id: 7, error: { code: -32602 } });
    await waitFor(() => peer.bytes().includes('ECHO:READY'), 'the replay');

    expect(watcher.bytes().includes('ECHO:READY')).toBe(true);
    expect(loop.runner.state).toMatchObject({ status: 'running' });
    await watcher.attach.client.request('stop', { force: true });
    expect(await loop.finished()).toMatchObject({ status: 'stopped' });
  });
});
