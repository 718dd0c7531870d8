import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcClient } from '../../src/protocol/client.js';
import { RpcError } from '../../src/protocol/errors.js';
import type { WireEvent } from '../../src/protocol/events.js';
import { LineDecoder, encodeLine } from '../../src/protocol/framing.js';
import { dialUnix, listenUnix } from '../../src/transport/unix.js';
import { demoHandlers, startServer } from './harness.js';
import type { TestServer } from './harness.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function server(): Promise<TestServer> {
  const s = await startServer(demoHandlers());
  cleanups.push(() => s.close());
  return s;
}

describe('RpcClient', () => {
  it('makes typed requests, with defaults filled in by the server', async () => {
    const client = await (await server()).client();
    const logs = await client.request('get_logs', { offset: 5 });
    expect(logs).toEqual({ content: '', offset: 5, next_offset: 5, end_offset: 5 + 65536, encoding: 'utf8' });
    const status = await client.request('get_status');
    expect(status.writer).toBeNull();
    expect(await client.request('write_pty', { data: 'q' })).toEqual({
      status: 'ignored',
      reason: 'not in interactive mode',
    });
  });

  it('rejects with RpcError carrying the code, kind and data', async () => {
    const s = await server();
    const a = await s.client();
    const b = await s.client();
    await a.request('set_interactive_mode', { enabled: true });
    const err = await b.request('set_interactive_mode', { enabled: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ code: 1001, kind: 'LEASE_HELD', data: { holder: 'unix#1' } });
    const unknown = await a.call('no_such_method', {}).catch((e: unknown) => e);
    expect(unknown).toMatchObject({
      code: -32601,
      kind: 'METHOD_NOT_FOUND',
      message: 'method not found: "no_such_method"',
    });
  });

  it('lease frees when its holder disconnects', async () => {
    const s = await server();
    const a = await s.client();
    const b = await s.client();
    await a.request('set_interactive_mode', { enabled: true });
    expect(await b.request('write_pty', { data: 'x' })).toMatchObject({ status: 'ignored' });
    const gone = new Promise((resolve) => s.conns[0]!.once('close', resolve));
    a.close();
    await gone;
    expect(await b.request('set_interactive_mode', { enabled: true })).toEqual({ interactive_mode: true });
    expect(await b.request('write_pty', { data: 'x' })).toEqual({ status: 'forwarded' });
  });

  it('times out a request with REQUEST_TIMEOUT and keeps working', async () => {
    const client = await (await server()).client();
    const err = await client
      .request('add_iterations', { count: 2 }, { timeoutMs: 50 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      kind: 'REQUEST_TIMEOUT',
      data: { method: 'add_iterations', timeout_ms: 50 },
    });
    expect(await client.request('stop')).toEqual({ status: 'stop_requested' });
  });

  it('refuses to send a request over the line limit', async () => {
    const s = await server();
    const client = await s.client();
    const err = await client
      .call('inject_prompt', { prompt: 'x'.repeat(1_100_000) })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'LINE_TOO_LONG', code: -32600, data: { limit: 1048576 } });
    expect(s.logs.filter((l) => /line/.test(l.msg))).toEqual([]);
    expect(await client.request('stop')).toEqual({ status: 'stop_requested' });
  });

  it('tolerates events and garbage interleaved with responses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ralph-client-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const listener = await listenUnix(join(dir, 'odd.sock'), (socket) => {
      const decoder = new LineDecoder({
        onLine: (line) => {
          const req = JSON.parse(line) as { id: number };
          socket.write('not json\n');
          socket.write(
            encodeLine({
              jsonrpc: '2.0',
              method: 'event',
              params: { type: 'output', timestamp: 't', data: { line: 'x' } },
            }),
          );
          socket.write(encodeLine({ hello: 'world' }));
          socket.write(
            encodeLine({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } }),
          );
          socket.write(encodeLine([{ jsonrpc: '2.0', id: req.id, result: { status: 'stop_requested' } }]));
        },
      });
      socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    });
    cleanups.push(() => listener.close());
    const client = new RpcClient(await dialUnix(listener.path), { defaultTimeoutMs: 5000 });
    cleanups.push(() => client.close());
    const warnings: string[] = [];
    const events: WireEvent[] = [];
    client.on('warning', (w) => warnings.push(w));
    const off = client.onEvent((e) => events.push(e));
    expect(await client.request('stop')).toEqual({ status: 'stop_requested' });
    expect(events).toEqual([{ type: 'output', timestamp: 't', data: { line: 'x' } }]);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/invalid JSON/);
    expect(warnings[1]).toMatch(/unexpected message/);
    expect(warnings[2]).toMatch(/not tied to a request: -32700/);
    off();
    await client.request('stop');
    expect(events).toHaveLength(1);
  });

  it('rejects pending requests when the stream closes, and later ones at once', async () => {
    const s = await server();
    const client = await s.client();
    await client.request('get_status');
    const pending = client.request('add_iterations', { count: 1 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    s.conns[0]!.close('shutting down');
    expect(await pending).toMatchObject({ kind: 'CONNECTION_CLOSED', message: /shutting down/ });
    expect(client.closed).toBe(true);
    expect(client.reason).toBe('server closed the connection: shutting down');
  });
});
