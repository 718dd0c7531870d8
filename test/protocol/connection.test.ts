import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_LINE_BYTES } from '../../src/protocol/framing.js';
import { demoHandlers, serverStarter } from './harness.js';
import type { RawPeer, TestServer } from './harness.js';
import { describeTransports, zitiClientName } from '../support/transports.js';

const STATUS = '{"jsonrpc":"2.0","id":"s","method":"get_status","params":{}}';

describeTransports('serveConnection', (transport) => {
  const startServerOver = serverStarter(transport);

  let server: TestServer;
  let peer: RawPeer;
  let other: RawPeer;

  beforeEach(async () => {
    server = await startServerOver(demoHandlers());
    peer = await server.raw();
    other = await server.raw();
  });

  afterEach(async () => {
    await server.close();
  });

  /** After a bad input, the same connection and another client are both still served. */
  async function expectStillServing(): Promise<void> {
    const mine = await peer.ask(STATUS);
    expect(mine).toMatchObject({ jsonrpc: '2.0', id: 's', result: { task_name: 'demo' } });
    const theirs = await other.ask(STATUS);
    expect(theirs.result.status).toBe('running');
  }

  describe('serveConnection: well-formed requests', () => {
    it('answers with params as {}, null or left out', async () => {
      for (const params of [',"params":{}', ',"params":null', '']) {
        const res = await peer.ask(`{"jsonrpc":"2.0","id":7,"method":"get_status"${params}}`);
        expect(res.id).toBe(7);
        expect(res.result.task_name).toBe('demo');
        expect(res.error).toBeUndefined();
      }
    });

    it('knows who is on the other end as the transport told it, whichever transport it is', async () => {
      expect(server.conns).toHaveLength(2);
      for (const conn of server.conns) {
        expect(conn.peer?.transport).toBe(transport);
        expect(conn.label).toBe(conn.peer?.label);
      }
      if (transport === 'ziti') expect(server.conns[0]!.peer?.identity).toBe(await zitiClientName());
    });

    it('runs a notification without answering it', async () => {
      peer.send('{"jsonrpc":"2.0","method":"subscribe","params":{"events":["output"]}}\n');
      const res = await peer.ask('{"jsonrpc":"2.0","id":1,"method":"unsubscribe","params":{"events":[]}}');
      expect(res).toEqual({ jsonrpc: '2.0', id: 1, result: { subscribed: ['output'] } });
    });

    it('answers a batch with an array, bad members included', async () => {
      const res = await peer.ask(
        `[${STATUS}, 5, {"jsonrpc":"2.0","id":2,"method":"stop","params":{"force":true}}]`,
      );
      expect(Array.isArray(res)).toBe(true);
      expect(res).toHaveLength(3);
      expect(res[0].result.task_name).toBe('demo');
      expect(res[1].error.code).toBe(-32600);
      expect(res[2]).toEqual({ jsonrpc: '2.0', id: 2, result: { status: 'stop_requested' } });
      const empty = await peer.ask('[]');
      expect(empty.error).toMatchObject({ code: -32600, message: 'invalid request: empty batch' });
    });
  });

  describe('serveConnection: bad input is answered and the connection keeps serving', () => {
    it('invalid JSON → -32700 with id null', async () => {
      const res = await peer.ask('{"jsonrpc":"2.0","id":1,"method":');
      expect(res.id).toBeNull();
      expect(res.error.code).toBe(-32700);
      expect(res.error.message).toMatch(/^parse error/);
      await expectStillServing();
    });

    it.each([
      ['a number', '42', /got number/],
      ['a string', '"get_status"', /got string/],
      ['null', 'null', /got null/],
    ])('%s instead of a request → -32600', async (_name, line, message) => {
      const res = await peer.ask(line);
      expect(res).toMatchObject({ id: null, error: { code: -32600, message } });
      await expectStillServing();
    });

    it('missing "jsonrpc" → -32600 echoing the id', async () => {
      const res = await peer.ask('{"id":9,"method":"get_status"}');
      expect(res).toMatchObject({
        id: 9,
        error: { code: -32600, message: 'invalid request: "jsonrpc" must be "2.0"' },
      });
      await expectStillServing();
    });

    it('"method" not a string, or an object id → -32600', async () => {
      const noMethod = await peer.ask('{"jsonrpc":"2.0","id":3,"method":5}');
      expect(noMethod).toMatchObject({
        id: 3,
        error: { code: -32600, message: /"method" must be a string/ },
      });
      const badId = await peer.ask('{"jsonrpc":"2.0","id":{"x":1},"method":"get_status"}');
      expect(badId).toMatchObject({ id: null, error: { code: -32600, message: /"id" must be/ } });
      const badParams = await peer.ask('{"jsonrpc":"2.0","id":4,"method":"get_status","params":"x"}');
      expect(badParams).toMatchObject({
        id: 4,
        error: { code: -32600, message: /"params" must be an object/ },
      });
      await expectStillServing();
    });

    it('a 2 MiB line → -32600 with data {limit}, then the next line is served', async () => {
      const huge = `{"jsonrpc":"2.0","id":1,"method":"inject_prompt","params":{"prompt":"${'x'.repeat(2 * 1024 * 1024)}"}}\n`;
      peer.send(huge);
      const res = await peer.next();
      expect(res).toMatchObject({
        id: null,
        error: { code: -32600, message: /line too long/, data: { limit: DEFAULT_MAX_LINE_BYTES } },
      });
      await expectStillServing();
      expect(server.logs.some((l) => /over 1048576 bytes discarded/.test(l.msg))).toBe(true);
    });

    it('a message nested deeper than 64 levels → -32600 with data {limit}, unparsed; 64 levels still parse', async () => {
      const refused = {
        id: null,
        error: { code: -32600, message: /nested deeper than 64 levels/, data: { limit: 64 } },
      };
      // 100,000 nested arrays: some 6 MB of heap had it been parsed.
      peer.send(`${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
      expect(await peer.next()).toMatchObject(refused);
      const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
      peer.send(`{"jsonrpc":"2.0","id":1,"method":"get_status","params":${nested(64)}}\n`);
      expect(await peer.next()).toMatchObject(refused);
      // 64 levels in all (the request object and 63 arrays) is parsed and answered as usual.
      const deepest = await peer.ask(`{"jsonrpc":"2.0","id":2,"method":"get_status","params":${nested(63)}}`);
      expect(deepest).toMatchObject({
        id: 2,
        error: { code: -32602, message: /params must be an object, not an array/ },
      });
      // Brackets inside strings are text, not nesting.
      const inString = await peer.ask(
        `{"jsonrpc":"2.0","id":3,"method":"get_status","params":{"x":"\\"${'['.repeat(500)}"}}`,
      );
      expect(inString).toMatchObject({ id: 3, error: { code: -32602 } });
      await expectStillServing();
    });

    it('unknown method → -32601 naming it', async () => {
      const res = await peer.ask('{"jsonrpc":"2.0","id":"u","method":"launch_rockets","params":{}}');
      expect(res).toMatchObject({
        id: 'u',
        error: { code: -32601, message: 'method not found: "launch_rockets"' },
      });
      await expectStillServing();
    });

    it('a method of the table without a handler → -32601', async () => {
      const res = await peer.ask('{"jsonrpc":"2.0","id":1,"method":"peek"}');
      expect(res.error).toMatchObject({ code: -32601, message: /"peek"/ });
    });

    it.each([
      ['inject_prompt', '{"prompt":5}', 'prompt', /prompt: expected string, received number/],
      ['resize', '{"cols":"wide","rows":10}', 'cols', /cols: expected number, received string/],
      ['resize', '{"cols":80}', 'rows', /rows: missing \(expected number\)/],
      ['subscribe', '{"events":["output","bogus"]}', 'events[1]', /events\[1\]: Invalid option/],
      ['set_interactive_mode', '{"enabled":"yes"}', 'enabled', /enabled: expected boolean/],
      ['get_logs', '{"limit":0}', 'limit', /limit: Too small/],
      ['stop', '[true]', 'params', /must be an object, not an array/],
    ])('%s %s → -32602 naming %s', async (method, params, field, message) => {
      const res = await peer.ask(`{"jsonrpc":"2.0","id":1,"method":"${method}","params":${params}}`);
      expect(res.error.code).toBe(-32602);
      expect(res.error.message).toMatch(message);
      expect(res.error.message).toMatch(new RegExp(`^invalid params for ${method}: `));
      expect(res.error.data.issues[0].path).toBe(field);
      await expectStillServing();
    });

    it('an unknown extra field → -32602 naming the field', async () => {
      const res = await peer.ask('{"jsonrpc":"2.0","id":1,"method":"stop","params":{"force":true,"hard":1}}');
      expect(res.error).toMatchObject({
        code: -32602,
        message: 'invalid params for stop: hard: unknown field',
        data: { issues: [{ path: 'hard', message: 'unknown field' }] },
      });
      const noParams = await peer.ask(
        '{"jsonrpc":"2.0","id":2,"method":"get_status","params":{"verbose":true}}',
      );
      expect(noParams.error.message).toBe('invalid params for get_status: verbose: unknown field');
      await expectStillServing();
    });

    it('huge params under the line limit → -32602 on the size, in characters and in bytes', async () => {
      const big = await peer.ask(
        `{"jsonrpc":"2.0","id":1,"method":"inject_prompt","params":{"prompt":"${'p'.repeat(900_000)}"}}`,
      );
      expect(big.error).toMatchObject({ code: -32602, message: /prompt: Too big/ });
      const wide = await peer.ask(
        `{"jsonrpc":"2.0","id":2,"method":"write_pty","params":{"data":"${'€'.repeat(30_000)}"}}`,
      );
      expect(wide.error).toMatchObject({ code: -32602, message: /data: must be at most 65536 bytes/ });
      await expectStillServing();
    });

    it('a handler throwing a plain Error → -32603 with its message, logged', async () => {
      const res = await peer.ask('{"jsonrpc":"2.0","id":1,"method":"checkpoint"}');
      expect(res).toMatchObject({ id: 1, error: { code: -32603, message: 'internal error: disk full' } });
      expect(server.logs.some((l) => /checkpoint/.test(l.msg))).toBe(true);
      await expectStillServing();
    });

    it('a handler result that breaks the contract → -32603 naming the field', async () => {
      const res = await peer.ask(
        '{"jsonrpc":"2.0","id":1,"method":"resize","params":{"cols":100,"rows":30}}',
      );
      expect(res.error).toMatchObject({
        code: -32603,
        message: /result of resize does not match the protocol: rows/,
      });
      await expectStillServing();
    });

    it('an RpcError from a handler keeps its code and data', async () => {
      expect(
        (await peer.ask('{"jsonrpc":"2.0","id":1,"method":"set_interactive_mode","params":{"enabled":true}}'))
          .result,
      ).toEqual({ interactive_mode: true });
      const res = await other.ask(
        '{"jsonrpc":"2.0","id":2,"method":"set_interactive_mode","params":{"enabled":true}}',
      );
      const holder = server.conns[0]!.label;
      expect(res.error).toEqual({ code: 1001, message: `writer lease held by ${holder}`, data: { holder } });
    });

    it('a client that ends mid-line leaves the server serving others', async () => {
      peer.socket.end('{"jsonrpc":"2.0","id":1,"meth');
      await new Promise<void>((resolve) => server.conns[0]!.once('close', () => resolve()));
      expect(server.conns[0]!.reason).toBe('peer closed');
      expect(server.logs.some((l) => /ended in the middle of a line; 29 bytes discarded/.test(l.msg))).toBe(
        true,
      );
      const res = await other.ask(STATUS);
      expect(res.result.task_name).toBe('demo');
    });

    it('answers requests sent just before the client half-closes', async () => {
      peer.socket.end(`${STATUS}\n`);
      const res = await peer.next();
      expect(res.result.task_name).toBe('demo');
      await new Promise<void>((resolve) => peer.socket.once('close', () => resolve()));
      expect(server.conns[0]!.closed).toBe(true);
    });
  });
});
