/**
 * Dispatch answers the calls every watcher makes (`get_status`, `subscribe` with plain params) without the
 * method table, so a runner that is only watched never loads the schemas; its answers must be the ones the
 * table gives.
 */
import { describe, expect, it } from 'vitest';
import { handlerDispatch, type Dispatch, type HandlerTable } from '../../src/protocol/dispatch.js';
import type { RpcConnection } from '../../src/protocol/connection.js';
import { METHOD_ACCESS, QUICK_PARAMS } from '../../src/protocol/method-index.js';
import { METHOD_NAMES, methods } from '../../src/protocol/methods.js';
import type { MethodSpec } from '../../src/protocol/spec.js';

const conn = {} as RpcConnection;

function dispatcher(seen: unknown[]): Dispatch {
  const handlers: HandlerTable = {
    get_iterations: (params) => {
      seen.push(params);
      return { iterations: [] };
    },
    pause: (params) => {
      seen.push(params);
      return { status: 'paused' as const };
    },
    add_iterations: ({ count }) => ({ max_iterations: count }),
    subscribe: (params) => {
      seen.push(params);
      return { subscribed: params.events };
    },
  };
  return handlerDispatch(handlers, { logger: () => {}, validateResults: false });
}

const MESSAGES: unknown[] = [
  { jsonrpc: '2.0', id: 1, method: 'get_iterations' },
  { jsonrpc: '2.0', id: 2, method: 'get_iterations', params: {} },
  { jsonrpc: '2.0', id: 3, method: 'get_iterations', params: null },
  { jsonrpc: '2.0', id: 4, method: 'get_iterations', params: { extra: 1 } },
  { jsonrpc: '2.0', id: 5, method: 'get_iterations', params: [] },
  { jsonrpc: '2.0', id: 6, method: 'get_iterations', params: 'x' },
  { jsonrpc: '1.0', id: 7, method: 'get_iterations' },
  { jsonrpc: '2.0', id: 8, method: 'pause' },
  { jsonrpc: '2.0', method: 'pause' },
  { jsonrpc: '2.0', id: 9, method: 'get_status' },
  { jsonrpc: '2.0', id: 10, method: 'add_iterations', params: { count: 2 } },
  {
    jsonrpc: '2.0',
    id: 12,
    method: 'subscribe',
    params: { events: ['state_change', 'output', 'iteration'] },
  },
  { jsonrpc: '2.0', id: 13, method: 'subscribe', params: { events: ['*', '*'] } },
  { jsonrpc: '2.0', id: 14, method: 'subscribe', params: { events: [] } },
  { jsonrpc: '2.0', id: 15, method: 'subscribe', params: { events: ['pty'] } },
  { jsonrpc: '2.0', id: 16, method: 'subscribe', params: { events: 'output' } },
  { jsonrpc: '2.0', id: 17, method: 'subscribe', params: { events: ['output'], also: 1 } },
  { jsonrpc: '2.0', id: 18, method: 'subscribe' },
  JSON.parse('{"jsonrpc":"2.0","id":11,"method":"pause","params":{"__proto__":{}}}'),
];

describe('dispatch before the method table is loaded', () => {
  it.each(MESSAGES.map((m) => [JSON.stringify(m), m]))(
    'answers %s as it does with the table loaded',
    async (_, message) => {
      const freshSeen: unknown[] = [];
      const fresh = await dispatcher(freshSeen)(message, conn);
      const loadedSeen: unknown[] = [];
      const loaded = dispatcher(loadedSeen);
      // Any call with params loads the table first.
      await loaded({ jsonrpc: '2.0', id: 0, method: 'add_iterations', params: { count: 1 } }, conn);
      expect(fresh).toEqual(await loaded(message, conn));
      expect(freshSeen).toEqual(loadedSeen);
    },
  );

  it('answers calls made while the table loads in the order they came', async () => {
    const seen: unknown[] = [];
    const dispatch = dispatcher(seen);
    const answers = await Promise.all([
      dispatch({ jsonrpc: '2.0', id: 1, method: 'add_iterations', params: { count: 3 } }, conn),
      dispatch({ jsonrpc: '2.0', method: 'pause' }, conn),
      dispatch({ jsonrpc: '2.0', id: 2, method: 'get_iterations' }, conn),
    ]);
    expect(answers).toEqual([
      { jsonrpc: '2.0', id: 1, result: { max_iterations: 3 } },
      null,
      { jsonrpc: '2.0', id: 2, result: { iterations: [] } },
    ]);
    expect(seen).toEqual([{}, {}]);
  });
});

describe('dispatch when the method table cannot be loaded', () => {
  it('answers each request with an internal error, keeps serving, and loads it on a later call', async () => {
    const logs: string[] = [];
    let attempts = 0;
    const dispatch = handlerDispatch(
      { add_iterations: ({ count }) => ({ max_iterations: count }), get_status: () => ({}) as never },
      {
        logger: (msg) => logs.push(msg),
        validateResults: false,
        methodTable: () => {
          attempts++;
          // As when the files of the install that started the runner are gone.
          if (attempts === 1) return Promise.reject(new Error("Cannot find module './chunk-x.js'"));
          return Promise.resolve(methods);
        },
      },
    );
    const call = { jsonrpc: '2.0', id: 1, method: 'add_iterations', params: { count: 2 } };
    const [first, batch, notification] = await Promise.all([
      dispatch(call, conn),
      dispatch([call, { ...call, id: null }, { jsonrpc: '2.0', method: 'pause', params: { x: 1 } }], conn),
      dispatch({ jsonrpc: '2.0', method: 'add_iterations', params: { count: 1 } }, conn),
    ]);
    expect(first).toMatchObject({ id: 1, error: { code: -32603 } });
    expect((first as { error: { message: string } }).error.message).toMatch(
      /cannot load its method table \(Cannot find module '\.\/chunk-x\.js'\); was ralph reinstalled/,
    );
    expect(batch).toMatchObject([
      { id: 1, error: { code: -32603 } },
      { id: null, error: { code: -32603 } },
    ]);
    expect(notification).toBeNull();
    expect(logs).toContain('cannot load the method table');
    // A quick call is still answered from the index meanwhile; the next call loads the table.
    expect(await dispatch({ jsonrpc: '2.0', id: 2, method: 'get_status' }, conn)).toMatchObject({
      id: 2,
      result: {},
    });
    expect(await dispatch(call, conn)).toEqual({ jsonrpc: '2.0', id: 1, result: { max_iterations: 2 } });
    expect(attempts).toBe(2);
  });
});

describe('the method index', () => {
  it('names every method of the table with the access the table gives it', () => {
    const table = methods as Record<string, MethodSpec>;
    expect(Object.keys(METHOD_ACCESS).sort()).toEqual([...METHOD_NAMES].sort());
    for (const name of METHOD_NAMES) expect(METHOD_ACCESS[name], name).toBe(table[name]!.access);
  });

  it('accepts quickly only params the table accepts, and gives what the table gives', () => {
    const table = methods as Record<string, MethodSpec>;
    const candidates: unknown[] = [
      undefined,
      null,
      {},
      { x: 1 },
      [],
      'x',
      0,
      { events: [] },
      { events: ['output'] },
      { events: ['*', 'output', 'output', 'iteration', 'state_change'] },
      { events: ['pty'] },
      { events: [1] },
      { events: [null] },
      { events: 'output' },
      { events: { 0: 'output', length: 1 } },
      { events: ['output'], x: 1 },
      Object.assign(Object.create(null) as object, { events: ['output'] }),
      JSON.parse('{"__proto__": {"events": ["output"]}}'),
    ];
    let accepted = 0;
    for (const [name, quick] of Object.entries(QUICK_PARAMS)) {
      const schema = table[name]!.params;
      for (const params of candidates) {
        const got = quick(params);
        if (got === undefined) continue;
        accepted++;
        const parsed = schema.safeParse(params ?? {});
        expect(parsed.success, `${name} ${JSON.stringify(params)}`).toBe(true);
        expect(got, `${name} ${JSON.stringify(params)}`).toEqual(parsed.data);
      }
      // The calls clients make pass the quick check: the table's own example does.
      expect(quick(table[name]!.example.params), name).toBeDefined();
    }
    expect(accepted).toBeGreaterThan(20);
  });
});
