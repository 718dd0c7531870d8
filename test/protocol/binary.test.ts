/** Switching a connection to binary frames over a real socket: both directions, failures, limits, slow readers. */
import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { attachStream } from '../../src/client/attach.js';
import { RpcClient } from '../../src/protocol/client.js';
import type { HandlerTable, RpcConnection, ServeOptions } from '../../src/protocol/connection.js';
import { RpcError } from '../../src/protocol/errors.js';
import { makeEvent } from '../../src/protocol/events.js';
import { FRAME_MESSAGE, FRAME_TERMINAL, encodeFrame } from '../../src/protocol/frames.js';
import { FramedPeer } from '../support/framed-peer.js';
import { keepUp, waitFor } from '../support/wait.js';
import { SLOW_READER_GONE, demoHandlers, serverStarter, type TestServer } from './harness.js';
import { describeTransports } from '../support/transports.js';

describeTransports('binary frames', (transport) => {
  const startServerOver = serverStarter(transport);

  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** The demo handlers plus an `attach` that refuses offset 999, and a record of terminal input. */
  async function framedServer(options: ServeOptions = {}): Promise<{ server: TestServer; input: Buffer[] }> {
    const input: Buffer[] = [];
    const handlers: HandlerTable = {
      ...demoHandlers(),
      attach: ({ from_offset }, conn) => {
        if (from_offset === 999)
          throw RpcError.of('OFFSET_OUT_OF_RANGE', 'offset 999 is past the end of the log');
        return {
          from_offset: from_offset ?? 0,
          replay_end: 0,
          cols: 80,
          rows: 24,
          interactive_mode: false,
          framing: conn.switching ? 'binary' : conn.framing,
        };
      },
    };
    server = await startServerOver(handlers, {
      onTerminalInput: (data) => input.push(Buffer.from(data)),
      ...options,
    });
    return { server, input };
  }

  const line = (id: number, method: string, params: object = {}): Buffer =>
    Buffer.from(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
  const frame = (id: number, method: string, params: object = {}): Buffer =>
    encodeFrame(FRAME_MESSAGE, JSON.stringify({ jsonrpc: '2.0', id, method, params }));

  describe('binary frames over a socket', () => {
    it('switches right after the attach response and carries messages and terminal bytes both ways', async () => {
      const { server, input } = await framedServer();
      const client = await server.client();
      const terminal: Buffer[] = [];
      client.on('terminal', (data) => terminal.push(Buffer.from(data)));
      const events: string[] = [];
      client.onEvent((e) => events.push(e.type));

      const attached = await client.request('attach', { from_offset: 0, framing: 'binary' });
      expect(attached.framing).toBe('binary');
      expect(client.framing).toBe('binary');
      const conn = server.conns[0]!;
      expect(conn.framing).toBe('binary');

      expect(await client.request('get_status')).toMatchObject({ task_name: 'demo' });
      conn.sendEncoded(encodeFrame(FRAME_TERMINAL, Buffer.from([0x1b, 0x5b, 0x41, 0x00, 0xff])));
      conn.notify(makeEvent('output', { line: 'still JSON inside' }));
      await waitFor(() => terminal.length === 1 && events.length === 1, 'a terminal frame and an event');
      expect([...terminal[0]!]).toEqual([0x1b, 0x5b, 0x41, 0x00, 0xff]);
      expect(events).toEqual(['output']);

      client.sendTerminal('keys\r');
      client.sendTerminal(Buffer.from([0x03]));
      await waitFor(() => Buffer.concat(input).length === 6, 'the keystrokes at the server');
      expect(Buffer.concat(input).toString('latin1')).toBe('keys\r\x03');

      const closed = new Promise<string>((resolve) => client.once('close', resolve));
      conn.close('loop finished');
      expect(await closed).toBe('server closed the connection: loop finished');
    });

    it('holds requests made while the switch is answered, then sends them framed', async () => {
      const { server } = await framedServer();
      const client = await server.client();
      const [attached, status, lease] = await Promise.all([
        client.request('attach', { framing: 'binary' }),
        client.request('get_status'),
        client.request('set_interactive_mode', { enabled: true }),
      ]);
      expect(attached.framing).toBe('binary');
      expect(status.task_name).toBe('demo');
      expect(lease).toEqual({ interactive_mode: true });
      expect(server.conns[0]!.framing).toBe('binary');
    });

    it('reads bytes sent right behind the request as frames once the switch succeeds', async () => {
      const { server, input } = await framedServer();
      const peer = new FramedPeer(await server.dial());
      peer.requestFrames(
        1,
        { from_offset: 0 },
        Buffer.concat([encodeFrame(FRAME_TERMINAL, 'typed early'), frame(2, 'get_status')]),
      );
      expect(await peer.next('the attach response')).toMatchObject({ id: 1, result: { framing: 'binary' } });
      expect(await peer.next('the framed status')).toMatchObject({ id: 2, result: { task_name: 'demo' } });
      expect(peer.framed).toBe(true);
      expect(Buffer.concat(input).toString()).toBe('typed early');
      peer.socket.destroy();
    });

    it('answers a failed switch with an NDJSON error and goes on reading lines', async () => {
      const { server, input } = await framedServer();
      const peer = new FramedPeer(await server.dial());
      peer.requestFrames(1, { from_offset: 999 }, line(2, 'get_status'));
      expect(await peer.next('the refusal')).toMatchObject({ id: 1, error: { code: 1003 } });
      expect(await peer.next('the status, as a line')).toMatchObject({
        id: 2,
        result: { task_name: 'demo' },
      });
      expect(peer.framed).toBe(false);
      expect(server.conns[0]!.framing).toBe('ndjson');

      // Params that fail validation leave the connection as it was too.
      peer.send({ jsonrpc: '2.0', id: 3, method: 'attach', params: { framing: 'morse' } });
      expect(await peer.next('the invalid params error')).toMatchObject({ id: 3, error: { code: -32602 } });
      peer.send({ jsonrpc: '2.0', id: 4, method: 'get_status' });
      expect(await peer.next()).toMatchObject({ id: 4, result: { task_name: 'demo' } });
      expect(input).toEqual([]);
      peer.socket.destroy();
    });

    it('answers unknown and over-long frames and keeps serving', async () => {
      const { server, input } = await framedServer({ maxLineBytes: 1024 });
      const peer = new FramedPeer(await server.dial());
      peer.requestFrames(1);
      expect(await peer.next()).toMatchObject({ id: 1, result: { framing: 'binary' } });

      peer.sendFrame(9, 'what is this');
      expect(await peer.next('the unknown frame error')).toMatchObject({
        id: null,
        error: { code: -32600, message: 'invalid request: unknown frame type 9; frame discarded' },
      });
      peer.sendFrame(FRAME_TERMINAL, Buffer.alloc(5000, 0x61));
      expect(await peer.next('the frame too long error')).toMatchObject({
        id: null,
        error: { code: -32600, message: 'frame too long: over 1024 bytes', data: { limit: 1024 } },
      });
      peer.sendFrame(FRAME_MESSAGE, '{"jsonrpc":"2.0","id":2,"method":');
      expect(await peer.next('the parse error')).toMatchObject({ id: null, error: { code: -32700 } });
      peer.socket.write(Buffer.concat([encodeFrame(FRAME_TERMINAL, 'ok'), frame(3, 'get_status')]));
      expect(await peer.next()).toMatchObject({ id: 3, result: { task_name: 'demo' } });
      expect(Buffer.concat(input).toString()).toBe('ok');
      expect(server.logs.some((l) => l.msg.includes('over 1024 bytes discarded'))).toBe(true);
      peer.socket.destroy();
    });

    it('drops a framed reader that stops reading, while another framed reader gets everything', async () => {
      const { server } = await framedServer();
      const slowSocket = await server.dial();
      const slow = new RpcClient(slowSocket, { defaultTimeoutMs: 10_000 });
      const fast = await server.client();
      await slow.request('attach', { framing: 'binary' });
      await fast.request('attach', { framing: 'binary' });
      let received = 0;
      fast.on('terminal', (data) => (received += data.length));
      slowSocket.pause();
      const [slowConn, fastConn] = server.conns as [RpcConnection, RpcConnection];
      const closed = new Promise<string>((resolve) => slowConn.once('close', resolve));
      const chunk = encodeFrame(FRAME_TERMINAL, Buffer.alloc(48 * 1024, 'a'));
      let sent = 0;
      for (let i = 0; i < 2000 && !slowConn.closed; i++) {
        slowConn.sendEncoded(chunk);
        expect(fastConn.sendEncoded(chunk)).toBe(true);
        sent += 48 * 1024;
        if (i % 8 === 7) await tick();
        await keepUp(fastConn);
      }
      // Over Ziti the paused reader's own receive bound (16 MiB in the SDK) may end it first.
      expect(await closed).toMatch(
        transport === 'unix' ? /^slow consumer: \d+ bytes queued$/ : SLOW_READER_GONE,
      );
      await waitFor(() => received === sent, `all ${sent} bytes at the fast reader`);
      expect(fastConn.closed).toBe(false);
      expect(await fast.request('get_status')).toMatchObject({ status: 'running' });
      slow.close();
    });

    it('attaches over NDJSON when the server does not know binary frames', async () => {
      // What a runner started by an older version answers: `framing` is an unknown field.
      const attached: unknown[] = [];
      server = await startServerOver({
        ...demoHandlers(),
        attach: (params) => {
          if (params.framing !== undefined) {
            throw RpcError.of('INVALID_PARAMS', 'invalid params for attach: framing: unknown field', {
              issues: [{ path: 'framing', message: 'unknown field' }],
            });
          }
          attached.push(params);
          return {
            from_offset: 0,
            replay_end: 0,
            cols: 80,
            rows: 24,
            interactive_mode: false,
            framing: 'ndjson',
          };
        },
      });
      const client = await server.client();
      expect(await attachStream(client, 0, 'binary')).toBe('ndjson');
      expect(client.framing).toBe('ndjson');
      expect(attached).toEqual([{ from_offset: 0 }]);
      expect(await client.request('get_status')).toMatchObject({ task_name: 'demo' });

      await server.close();
      const { server: current } = await framedServer();
      const other = await current.client();
      expect(await attachStream(other, 0, 'binary')).toBe('binary');
      expect(other.framing).toBe('binary');
    });
  });
});
