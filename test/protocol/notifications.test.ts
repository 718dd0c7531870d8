/** Notifications (no id) reach their handler at once and get no answer, valid or not; serving goes on. */
import { afterEach, describe, expect, it } from 'vitest';
import type { HandlerTable } from '../../src/protocol/index.js';
import { serverStarter, type TestServer } from './harness.js';
import { describeTransports } from '../support/transports.js';

describeTransports('notifications', (transport) => {
  const startServerOver = serverStarter(transport);

  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  describe('notifications', () => {
    it('run the handler with validated params, answer nothing, and keep the connection serving', async () => {
      const typed: string[] = [];
      const handlers: HandlerTable = {
        write_pty: ({ data }) => {
          if (data === 'boom') throw new Error('handler failed on purpose');
          typed.push(data);
          return { status: 'forwarded' };
        },
        get_iterations: () => ({ iterations: [] }),
      };
      server = await startServerOver(handlers);
      const peer = await server.raw();
      peer.send('{"jsonrpc":"2.0","method":"write_pty","params":{"data":"a"}}\n');
      peer.send('{"jsonrpc":"2.0","method":"write_pty","params":{"data":42}}\n');
      peer.send('{"jsonrpc":"2.0","method":"write_pty","params":{"data":"boom"}}\n');
      peer.send('{"jsonrpc":"2.0","method":"no_such_method","params":{}}\n');
      peer.send('{"jsonrpc":"2.0","method":"write_pty","params":{"data":"b"}}\n');
      // The first answer on the wire is the one to this request: none of the notifications produced one.
      const reply = await peer.ask('{"jsonrpc":"2.0","id":7,"method":"get_iterations"}');
      expect(reply).toEqual({ jsonrpc: '2.0', id: 7, result: { iterations: [] } });
      expect(typed).toEqual(['a', 'b']);
      expect(server.logs.some((l) => l.msg.includes('notification write_pty failed'))).toBe(true);
    });

    it('is how the client sends fire-and-forget keystrokes', async () => {
      const typed: string[] = [];
      server = await startServerOver({
        write_pty: ({ data }) => {
          typed.push(data);
          return { status: 'forwarded' };
        },
        get_iterations: () => ({ iterations: [] }),
      });
      const client = await server.client();
      client.notify('write_pty', { data: 'x' });
      client.notify('write_pty', { data: 'y' });
      await client.request('get_iterations');
      expect(typed).toEqual(['x', 'y']);
    });
  });
});
