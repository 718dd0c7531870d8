/** Interactive mode over a real socket: keystrokes to the agent's PTY, watchers, and the writer lease. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  gate,
  makeTask,
  Sandbox,
  seenLines,
  startInProcess,
  waitFor,
  Watcher,
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

async function watcher(socketPath: string): Promise<Watcher> {
  const w = await Watcher.open(sb, socketPath);
  await w.client.request('subscribe', { events: ['output', 'state_change'] });
  const attached = await w.client.request('attach', { from_offset: 0 });
  expect(attached).toMatchObject({ from_offset: 0, cols: 80, rows: 24, interactive_mode: false });
  return w;
}

describe('interactive mode', () => {
  it('round-trips keystrokes to the agent and back to the watcher', async () => {
    const task = await makeTask(sb, { stories: 1, script: ECHO_SCRIPT });
    const loop = await startInProcess(sb, task);
    const w = await watcher(loop.socketPath);
    await seenLines(loop, 'ECHO:READY');

    // Keystrokes without interactive mode never reach the agent.
    expect(await w.client.request('write_pty', { data: 'nope' })).toEqual({
      status: 'ignored',
      reason: 'not in interactive mode',
    });

    expect(await w.client.request('set_interactive_mode', { enabled: true })).toEqual({
      interactive_mode: true,
    });
    await w.until(
      (x) => x.states.some((s) => s.interactive_mode === true && s.status === 'interactive'),
      'the interactive state change',
    );
    const status = await w.client.request('get_status');
    expect(status).toMatchObject({
      status: 'interactive',
      interactive_mode: true,
      mode_indicator: 'interactive',
    });
    expect(status.writer).toMatch(/^unix#\d+$/);

    expect(await w.client.request('write_pty', { data: 'hello' })).toEqual({ status: 'forwarded' });
    await w.until((x) => x.lines.includes('ECHO:"hello"'), 'the echo as an output event');
    await w.until((x) => x.text().includes('ECHO:"hello"\r\n'), 'the echo in the pty stream');

    expect(await w.client.request('write_pty', { data: 'quit\r' })).toEqual({ status: 'forwarded' });
    await w.until((x) => x.lines.includes('ECHO:DONE'), 'the agent to see the terminator');
    expect(await w.client.request('set_interactive_mode', { enabled: false })).toEqual({
      interactive_mode: false,
    });

    const final = await loop.finished();
    expect(final).toMatchObject({ status: 'completed', interactive: false, iteration: 2 });
    expect(w.lines).not.toContain('ECHO:"nope"');
    expect(w.faults).toEqual([]);
  });

  it('gives one writer the keyboard while every watcher sees the same bytes', async () => {
    const task = await makeTask(sb, { stories: 1, script: ECHO_SCRIPT });
    const loop = await startInProcess(sb, task);
    const a = await watcher(loop.socketPath);
    const b = await watcher(loop.socketPath);
    await seenLines(loop, 'ECHO:READY');

    expect(await a.client.request('set_interactive_mode', { enabled: true })).toEqual({
      interactive_mode: true,
    });
    const holder = (await a.client.request('get_status')).writer;
    expect(holder).toMatch(/^unix#\d+$/);

    const refused = await rpcRefusal(b.client.request('set_interactive_mode', { enabled: true }));
    expect(refused).toMatchObject({ kind: 'LEASE_HELD', code: 1001, data: { holder } });
    expect(refused.message).toBe(`the keyboard is held by ${holder}`);
    const offRefused = await rpcRefusal(b.client.request('set_interactive_mode', { enabled: false }));
    expect(offRefused.kind).toBe('LEASE_HELD');
    // Keys from a client without the keyboard are ignored with the reason, as ralph-uv answers them.
    expect(await b.client.request('write_pty', { data: 'intruder' })).toEqual({
      status: 'ignored',
      reason: `the keyboard is held by ${holder}`,
    });

    expect(await a.client.request('write_pty', { data: 'shared' })).toEqual({ status: 'forwarded' });
    await seenLines(loop, 'ECHO:"shared"');
    const end = (await b.client.request('get_status')).log_end_offset;
    await a.until((x) => (x.nextOffset ?? 0) >= end, 'A to receive the echo');
    await b.until((x) => (x.nextOffset ?? 0) >= end, 'B to receive the echo');
    const logged = readFileSync(join(loop.dir, 'output.log')).subarray(0, end);
    expect(a.bytes().subarray(0, end).equals(logged)).toBe(true);
    expect(b.bytes().subarray(0, end).equals(logged)).toBe(true);
    expect(logged.toString('utf8')).toContain('ECHO:"shared"');
    expect(logged.toString('utf8')).not.toContain('intruder');

    // The holder leaves: the lease frees and interactive mode ends with it.
    a.client.close();
    await b.until((x) => x.states.some((s) => s.interactive_mode === false), 'interactive mode to end');
    const after = await b.client.request('get_status');
    expect(after).toMatchObject({ writer: null, interactive_mode: false, status: 'running' });
    await waitFor(
      () => loop.logs.some((l) => l.includes(`writer ${holder} released the keyboard`)),
      'the release log',
    );

    expect(await b.client.request('set_interactive_mode', { enabled: true })).toEqual({
      interactive_mode: true,
    });
    expect((await b.client.request('get_status')).writer).not.toBe(holder);
    expect(await b.client.request('write_pty', { data: 'quit\r' })).toEqual({ status: 'forwarded' });
    await seenLines(loop, 'ECHO:DONE');
    await b.client.request('set_interactive_mode', { enabled: false });
    expect(await loop.finished()).toMatchObject({ status: 'completed' });
    expect(a.faults).toEqual([]);
    expect(b.faults).toEqual([]);
  });

  it('answers ignored when no agent is running', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      script: { iterations: [gate('1')], steps: [{ passStory: 'current' }] },
    });
    const loop = await startInProcess(sb, task, { maxIterations: 3 });
    const w = await watcher(loop.socketPath);
    await seenLines(loop, 'ECHO:READY');
    await w.client.request('set_interactive_mode', { enabled: true });
    await w.client.request('write_pty', { data: 'go\r' });
    // The agent exits; the loop holds between iterations while interactive.
    await waitFor(
      () => loop.iterations.length === 1 && loop.runner.state.agentPid === null,
      'iteration 1 to end',
    );
    expect(await w.client.request('write_pty', { data: 'x' })).toEqual({
      status: 'ignored',
      reason: 'no agent process is running',
    });
    expect(loop.runner.state).toMatchObject({ iteration: 1, status: 'interactive' });
    await w.client.request('set_interactive_mode', { enabled: false });
    expect(await loop.finished()).toMatchObject({ status: 'completed', iteration: 2 });
  });
});
