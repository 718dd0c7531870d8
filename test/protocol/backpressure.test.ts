import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/protocol/events.js';
import type { WireEvent } from '../../src/protocol/events.js';
import { demoHandlers, sampleStatus, startServer } from './harness.js';
import type { TestServer } from './harness.js';

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('events and backpressure', () => {
  it('delivers events only to connections that want them', async () => {
    server = await startServer(demoHandlers());
    const watcher = await server.client();
    const bystander = await server.client();
    const seen: WireEvent[] = [];
    const ignored: WireEvent[] = [];
    watcher.onEvent((e) => seen.push(e));
    bystander.onEvent((e) => ignored.push(e));
    expect(await watcher.request('subscribe', { events: ['output'] })).toEqual({ subscribed: ['output'] });
    await bystander.request('get_status');
    for (const conn of server.conns) {
      if (conn.wants('output')) conn.notify(makeEvent('output', { line: 'compiling' }));
      if (conn.wants('state_change')) conn.notify(makeEvent('state_change', { iteration: 2 }));
    }
    await waitFor(() => seen.length === 1, 'the output event');
    expect(seen[0]).toMatchObject({ type: 'output', data: { line: 'compiling' } });
    expect(Date.parse(seen[0]!.timestamp)).not.toBeNaN();
    expect(await bystander.request('get_status')).toMatchObject({ task_name: 'demo' });
    expect(ignored).toEqual([]);
  });

  it('drops a client that stops reading, while another keeps receiving', async () => {
    server = await startServer(demoHandlers());
    const slow = await server.raw();
    const fast = await server.client();
    await slow.ask('{"jsonrpc":"2.0","id":1,"method":"get_status"}');
    await fast.request('get_status');
    slow.socket.pause();
    const [slowConn, fastConn] = server.conns as [(typeof server.conns)[0], (typeof server.conns)[0]];
    let received = 0;
    fast.onEvent((e) => {
      if (e.type === 'pty') received += 1;
    });
    const closed = new Promise<string>((resolve) => slowConn.once('close', resolve));
    const chunk = Buffer.alloc(48 * 1024, 'a').toString('base64');
    let sent = 0;
    for (let i = 0; i < 2000 && !slowConn.closed; i++) {
      slowConn.notify(makeEvent('pty', { offset: i * 48 * 1024, data: chunk }));
      expect(fastConn.notify(makeEvent('pty', { offset: i * 48 * 1024, data: chunk }))).toBe(true);
      sent += 1;
      if (i % 8 === 7) await tick();
    }
    expect(slowConn.closed).toBe(true);
    const reason = await closed;
    expect(reason).toMatch(/^slow consumer: \d+ bytes queued$/);
    const queued = Number(/(\d+) bytes/.exec(reason)![1]);
    expect(queued).toBeGreaterThan(8 * 1024 * 1024);
    expect(slowConn.notify(makeEvent('output', { line: 'late' }))).toBe(false);
    expect(server.logs.some((l) => l.msg.includes('slow consumer'))).toBe(true);
    await waitFor(() => received === sent, `all ${sent} events at the fast client`);
    expect(fastConn.closed).toBe(false);
    expect(await fast.request('get_status')).toMatchObject({ status: 'running' });
  });

  it('close(reason) sends a disconnect event, then the client sees the reason and pending calls fail', async () => {
    server = await startServer(demoHandlers());
    const client = await server.client();
    await client.request('get_status');
    const pending = client.request('add_iterations', { count: 1 }).then(
      () => 'resolved',
      (err: unknown) => err,
    );
    const clientClosed = new Promise<string>((resolve) => client.once('close', resolve));
    const events: WireEvent[] = [];
    client.onEvent((e) => events.push(e));
    await waitFor(() => server!.conns.length === 1, 'the connection');
    server.conns[0]!.close('loop finished');
    expect(server.conns[0]!.closed).toBe(true);
    expect(await clientClosed).toBe('server closed the connection: loop finished');
    expect(events.map((e) => e.type)).toEqual(['disconnect']);
    expect(await pending).toMatchObject({
      kind: 'CONNECTION_CLOSED',
      code: 1100,
      message: 'connection closed: server closed the connection: loop finished',
    });
    await expect(client.request('get_status')).rejects.toMatchObject({ kind: 'CONNECTION_CLOSED' });
  });

  it('answers a pipelined burst a few requests at a time, every one of them, in order', async () => {
    let active = 0;
    let peak = 0;
    server = await startServer(
      {
        ...demoHandlers(),
        get_status: async () => {
          active += 1;
          peak = Math.max(peak, active);
          await new Promise((resolve) => setTimeout(resolve, 2));
          active -= 1;
          return sampleStatus();
        },
      },
      { maxInFlight: 4 },
    );
    const peer = await server.raw();
    let burst = '';
    for (let id = 1; id <= 100; id++) burst += `{"jsonrpc":"2.0","id":${id},"method":"get_status"}\n`;
    peer.send(burst);
    const ids: unknown[] = [];
    for (let i = 0; i < 100; i++) ids.push((await peer.next()).id);
    expect(ids).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(peak).toBeLessThanOrEqual(4);
    expect(peak).toBeGreaterThan(0);

    // A batch counts as many requests as it has members; one larger than the bound is refused whole.
    const batch = JSON.stringify(
      Array.from({ length: 5 }, (_, i) => ({ jsonrpc: '2.0', id: 200 + i, method: 'get_status' })),
    );
    const refused = await peer.ask(batch);
    expect(refused).toMatchObject({
      id: null,
      error: {
        code: -32600,
        message: 'invalid request: a batch of 5 messages; at most 4',
        data: { limit: 4 },
      },
    });
    expect(await peer.ask('{"jsonrpc":"2.0","id":300,"method":"get_status"}')).toMatchObject({ id: 300 });
  });
});
