/**
 * Restricted runner connections over a real socket with the fake agent in a real PTY: after
 * `restrict_connection {role: "observe"}` a connection still watches (status, read-only attach, logs, peek)
 * but every control method answers FORBIDDEN, keys in terminal frames are dropped, and nothing lifts it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, FRAME_TERMINAL, METHOD_NAMES, methods } from '../../src/protocol/index.js';
import type { MethodSpec } from '../../src/protocol/spec.js';
import { dialUnix } from '../../src/transport/unix.js';
import { FramedPeer } from '../support/framed-peer.js';
import {
  makeTask,
  Sandbox,
  seenLines,
  startInProcess,
  Watcher,
  within,
  ECHO_SCRIPT,
  rpcRefusal,
} from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

/** Valid params for every control method, so that a refusal is about the role and nothing else. */
const CONTROL_CALLS: Record<string, object> = {
  stop: { force: true },
  checkpoint: {},
  inject_prompt: { prompt: 'observer says hi' },
  pause: {},
  resume: {},
  add_iterations: { count: 3 },
  resize: { cols: 100, rows: 30 },
  set_interactive_mode: { enabled: true },
  write_pty: { data: 'observer keys\r' },
};

describe('restrict_connection', () => {
  it('covers every control method of the table in this test', () => {
    const control = METHOD_NAMES.filter((n) => (methods[n] as MethodSpec).access !== 'read');
    expect(control.sort()).toEqual(Object.keys(CONTROL_CALLS).sort());
  });

  it('keeps reads working, refuses every control method with FORBIDDEN, and cannot be lifted', async () => {
    const task = await makeTask(sb, { stories: 1, script: ECHO_SCRIPT });
    const loop = await startInProcess(sb, task);
    const observer = await Watcher.open(sb, loop.socketPath);
    const owner = await Watcher.open(sb, loop.socketPath);

    expect(await observer.client.request('restrict_connection', { role: 'observe' })).toEqual({
      role: 'observe',
    });
    // Read-only attach and the other reads work.
    await observer.client.request('subscribe', { events: ['output', 'state_change'] });
    expect(await observer.client.request('attach', { from_offset: 0 })).toMatchObject({ from_offset: 0 });
    await seenLines(loop, 'ECHO:READY');
    await observer.until((w) => w.text().includes('ECHO:READY'), 'the agent output on the observer');
    expect(await observer.client.request('get_status')).toMatchObject({ status: 'running', iteration: 1 });
    expect((await observer.client.request('peek')).lines.join('\n')).toContain('ECHO:READY');
    expect((await observer.client.request('get_logs', { offset: 0 })).content).toContain('agent ready');

    for (const [method, params] of Object.entries(CONTROL_CALLS)) {
      const err = await rpcRefusal(observer.client.request(method as never, params as never));
      expect(err.code, method).toBe(ErrorCode.FORBIDDEN);
      expect(err.code).toBe(1014);
      expect(err.message).toBe(
        `${method} is not allowed: this connection is restricted to the observe role (read-only)`,
      );
      expect(err.data).toEqual({ role: 'observe', method });
    }
    // Keystrokes sent as a notification (no answer) do not get through either.
    observer.client.notify('write_pty', { data: 'sneaky\r' });

    // No way back: only "observe" is a valid role, and restricting again changes nothing.
    const lift = await rpcRefusal(
      observer.client.request('restrict_connection', { role: 'control' as never }),
    );
    expect(lift.code).toBe(ErrorCode.INVALID_PARAMS);
    expect(await observer.client.request('restrict_connection', { role: 'observe' })).toEqual({
      role: 'observe',
    });
    expect((await rpcRefusal(observer.client.request('pause'))).code).toBe(ErrorCode.FORBIDDEN);

    // Nothing the observer asked for happened: still running, not paused, same size and limit.
    expect(await observer.client.request('get_status')).toMatchObject({
      status: 'running',
      paused: false,
      interactive_mode: false,
      cols: 80,
      rows: 24,
      max_iterations: 5,
      writer: null,
    });

    // An unrestricted connection on the same runner still controls the loop, and the observer watches it.
    await owner.client.request('set_interactive_mode', { enabled: true });
    await owner.client.request('write_pty', { data: 'hello\r' });
    await observer.until(
      (w) => w.text().includes('ECHO:"hello\\r"'),
      'the owner keys echoed to the observer',
    );
    await owner.client.request('write_pty', { data: 'quit\r' });
    await seenLines(loop, 'ECHO:DONE');
    await owner.client.request('set_interactive_mode', { enabled: false });
    expect(await loop.finished()).toMatchObject({ status: 'completed' });

    const log = readFileSync(join(loop.dir, 'output.log'), 'utf8');
    expect(log).not.toMatch(/observer|sneaky/);
    expect(observer.faults).toEqual([]);
  });

  it('drops keys in terminal frames from a restricted connection and releases a lease it held', async () => {
    const task = await makeTask(sb, { stories: 1, script: ECHO_SCRIPT });
    const loop = await startInProcess(sb, task);
    const owner = await Watcher.open(sb, loop.socketPath);
    await seenLines(loop, 'ECHO:READY');

    const peer = new FramedPeer(await dialUnix(loop.socketPath));
    sb.defer(() => peer.socket.destroy());
    peer.send({ jsonrpc: '2.0', id: 1, method: 'set_interactive_mode', params: { enabled: true } });
    expect(await peer.reply('the lease')).toMatchObject({ id: 1, result: { interactive_mode: true } });
    peer.send({ jsonrpc: '2.0', id: 2, method: 'restrict_connection', params: { role: 'observe' } });
    expect(await peer.reply('the restriction')).toMatchObject({ id: 2, result: { role: 'observe' } });
    // Restricting gave the keyboard back.
    expect(await owner.client.request('get_status')).toMatchObject({ writer: null, interactive_mode: false });

    peer.requestFrames(3, { from_offset: 0 });
    expect(await peer.reply('the attach response')).toMatchObject({ id: 3, result: { framing: 'binary' } });
    // Even while interactive mode is on for someone else, the restricted peer's keys go nowhere.
    await owner.client.request('set_interactive_mode', { enabled: true });
    for (let i = 0; i < 3; i++) peer.sendFrame(FRAME_TERMINAL, 'framed observer keys');
    const dropped = await peer.next('the input_dropped event');
    expect(dropped).toMatchObject({
      method: 'event',
      params: {
        type: 'input_dropped',
        data: { reason: 'this connection is read-only (observe)', bytes: 20 },
      },
    });
    // Requests in message frames are checked the same way, and the connection keeps serving reads.
    peer.send({ jsonrpc: '2.0', id: 4, method: 'stop', params: {} });
    expect(await peer.reply('the stop refusal')).toMatchObject({
      id: 4,
      error: { code: 1014, data: { role: 'observe', method: 'stop' } },
    });
    peer.send({ jsonrpc: '2.0', id: 5, method: 'get_status', params: {} });
    expect(await peer.reply('the status')).toMatchObject({ id: 5, result: { status: 'interactive' } });

    await owner.client.request('write_pty', { data: 'quit\r' });
    await seenLines(loop, 'ECHO:DONE');
    await owner.client.request('set_interactive_mode', { enabled: false });
    await within(loop.finished(), 'the loop to end');
    expect(peer.bytes().toString('utf8')).toContain('ECHO:DONE');
    expect(readFileSync(join(loop.dir, 'output.log'), 'utf8')).not.toContain('framed observer keys');
  });
});
