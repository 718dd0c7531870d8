import { describe, expect, it } from 'vitest';
import { RpcClient } from '../../src/protocol/client.js';
import { serveConnection } from '../../src/protocol/serve.js';
import { makeEvent } from '../../src/protocol/events.js';
import type { WireEvent } from '../../src/protocol/events.js';
import { duplexPair } from '../support/duplex-pair.js';
import { demoHandlers } from './harness.js';

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

  it('checks results only when asked to, whatever the environment says', async () => {
    // `resize` in the demo handlers answers rows: 0 on purpose, which breaks the method table.
    const answers: unknown[] = [];
    for (const validateResults of [undefined, false, true]) {
      const [serverSide, clientSide] = duplexPair();
      serveConnection(serverSide, demoHandlers(), validateResults === undefined ? {} : { validateResults });
      const client = new RpcClient(clientSide, { defaultTimeoutMs: 5000 });
      answers.push(
        await client.request('resize', { cols: 100, rows: 30 }).then(
          (result) => ({ result }),
          (err: unknown) => ({ error: (err as Error).message }),
        ),
      );
      client.close();
    }
    expect(process.env.VITEST).toBeDefined();
    expect(answers).toEqual([
      { result: { cols: 100, rows: 0 } },
      { result: { cols: 100, rows: 0 } },
      { error: expect.stringMatching(/result of resize does not match the protocol: rows/) as unknown },
    ]);
  });
});
