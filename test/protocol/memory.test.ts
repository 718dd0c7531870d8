import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RpcClient } from '../../src/protocol/client.js';
import { serveConnection } from '../../src/protocol/connection.js';
import { makeEvent } from '../../src/protocol/events.js';
import type { WireEvent } from '../../src/protocol/events.js';
import { demoHandlers } from './harness.js';

/** Two connected in-memory streams: what one writes, the other reads. */
function duplexPair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  return [Duplex.from({ readable: bToA, writable: aToB }), Duplex.from({ readable: aToB, writable: bToA })];
}

describe('the protocol over an in-memory stream (no socket involved)', () => {
  it('serves requests and events, and closes cleanly from the server side', async () => {
    const [serverSide, clientSide] = duplexPair();
    const conn = serveConnection(serverSide, demoHandlers(), { label: 'memory' });
    const client = new RpcClient(clientSide, { defaultTimeoutMs: 5000 });
    const events: WireEvent[] = [];
    client.onEvent((e) => events.push(e));

    expect(conn.id).toMatch(/^c\d+$/);
    expect(conn.label).toBe('memory');
    expect(await client.request('subscribe', { events: ['*'] })).toEqual({ subscribed: ['*'] });
    expect(conn.wants('iteration')).toBe(true);
    const status = client.request('get_status');
    conn.notify(makeEvent('state_change', { iteration: 2 }));
    expect((await status).task_name).toBe('demo');

    const closed = new Promise<string>((resolve) => client.once('close', resolve));
    const serverClosed = new Promise<string>((resolve) => conn.once('close', resolve));
    conn.close('test over');
    expect(await serverClosed).toBe('test over');
    expect(await closed).toBe('server closed the connection: test over');
    expect(events.map((e) => e.type)).toEqual(['state_change', 'disconnect']);
  });
});
