/**
 * Dispatch: a `json-rpc-2.0` server built from the method table and a handler table. It sees parsed
 * messages only, never bytes. Params are validated before a handler runs; results optionally after.
 */
import { JSONRPCServer, createJSONRPCErrorResponse } from 'json-rpc-2.0';
import type { z } from 'zod';
import type { JSONRPCID, JSONRPCRequest, JSONRPCResponse } from 'json-rpc-2.0';
import { errorMessage } from '../errors.js';
import { RpcError, errorCodes } from './errors.js';
import { QUICK_PARAMS, type QuickParams } from './method-index.js';
import { loadMethodTable } from './method-table.js';
import type { MethodName, Methods, ParamsOf, ResultOf } from './methods.js';
import { checkEnvelope, isId, parseParams, summarizeIssues } from './validate.js';
import type { RpcConnection } from './connection.js';
import type { MethodSpec } from './spec.js';

export type Handler<M extends MethodName> = (
  params: ParamsOf<M>,
  conn: RpcConnection,
) => ResultOf<M> | Promise<ResultOf<M>>;

/** Handlers by method name. A method of the table without a handler answers "method not found". */
export type HandlerTable = { [M in MethodName]?: Handler<M> };

export type Logger = (msg: string, ctx?: object) => void;

export interface DispatcherOptions {
  logger: Logger;
  /**
   * Check every result against the method table, answering a mismatch as an internal error. Off unless
   * asked for; tests turn it on so that a handler breaking the contract fails loudly.
   */
  validateResults: boolean;
}

/**
 * What a served connection needs from dispatch: an answer for one parsed message (a request, a
 * notification or a batch) on that connection; null for nothing to send. Never rejects. A router can
 * implement it by forwarding instead of handling.
 */
export type Dispatch = (
  message: unknown,
  conn: RpcConnection,
) => Promise<JSONRPCResponse | JSONRPCResponse[] | null>;

/**
 * A `Dispatch` that answers from `handlers` (batches of at most `maxBatch` members). The method table is
 * loaded with the first message that needs it; messages that arrive meanwhile wait for it and are answered
 * in order. Until then, a call whose params a quick check accepts (see method-index.ts) is answered without it.
 */
export function handlerDispatch(
  handlers: HandlerTable,
  options: DispatcherOptions & {
    maxBatch?: number;
    /** Where the method table comes from; by default it is loaded on first need (method-table.ts). */
    methodTable?: () => Promise<Methods>;
  },
): Dispatch {
  const loose = handlers as Record<string, LooseHandler | undefined>;
  let server: JSONRPCServer<RpcConnection> | undefined;
  let ready: Promise<JSONRPCServer<RpcConnection>> | undefined;
  let quick: JSONRPCServer<RpcConnection> | undefined;
  return (message, conn) => {
    if (server !== undefined) return answer(server, message, conn, options.maxBatch);
    if (ready === undefined && !options.validateResults && isQuickCall(message, loose)) {
      quick ??= createTableDispatcher(Object.keys(QUICK_PARAMS), quickParams, undefined, loose, options);
      return answer(quick, message, conn);
    }
    ready ??= (options.methodTable ?? loadMethodTable)().then((table) => {
      server = createTableDispatcher(
        Object.keys(table),
        (name, params) => parseParams(name, table[name as MethodName].params, params),
        options.validateResults ? (name, result) => checkResult(table, name, result) : undefined,
        loose,
        options,
      );
      return server;
    });
    return ready.then(
      (loaded) => answer(loaded, message, conn, options.maxBatch),
      (err: unknown) => {
        // The next call tries again; meanwhile every request gets an answer, not a wait for a timeout.
        ready = undefined;
        options.logger('cannot load the method table', { error: err });
        return tableUnavailable(message, err);
      },
    );
  };
}

/**
 * What a call that needs the method table is answered when it cannot be loaded: a runner started before ralph
 * was reinstalled looks for a file of the old install, which may be gone.
 */
function tableUnavailable(message: unknown, err: unknown): JSONRPCResponse | JSONRPCResponse[] | null {
  const text =
    `internal error: this runner cannot load its method table (${errorMessage(err)}); ` +
    'was ralph reinstalled while the loop ran?';
  // A request has an id (a string, a number or null); a notification has none and gets no answer.
  const one = (member: unknown): JSONRPCResponse | null => {
    if (typeof member !== 'object' || member === null || !('id' in member)) return null;
    return isId(member.id)
      ? createJSONRPCErrorResponse(member.id, errorCodes.INTERNAL_ERROR.code, text)
      : null;
  };
  if (!Array.isArray(message)) return one(message);
  const answers = message.map(one).filter((a): a is JSONRPCResponse => a !== null);
  return answers.length === 0 ? null : answers;
}

function quickCheck(method: unknown): QuickParams | undefined {
  return typeof method === 'string' && Object.hasOwn(QUICK_PARAMS, method)
    ? QUICK_PARAMS[method as MethodName]
    : undefined;
}

/** A single request or notification, of a method with a handler, whose params the quick check accepts. */
function isQuickCall(message: unknown, handlers: Record<string, LooseHandler | undefined>): boolean {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return false;
  const { method, params } = message as { method?: unknown; params?: unknown };
  const check = quickCheck(method);
  return check !== undefined && handlers[method as string] !== undefined && check(params) !== undefined;
}

/** Only ever called for calls `isQuickCall` let through. */
function quickParams(method: string, params: unknown): unknown {
  const parsed = quickCheck(method)?.(params);
  if (parsed === undefined) throw new Error(`${method}: params not checked`);
  return parsed;
}

type LooseHandler = (params: unknown, conn: RpcConnection) => unknown;

/** Handlers for the methods of any method table (the daemon's, for one). */
export type TableHandlers<T extends Record<string, MethodSpec>> = {
  [M in keyof T]?: (
    params: z.output<T[M]['params']>,
    conn: RpcConnection,
  ) => z.output<T[M]['result']> | Promise<z.output<T[M]['result']>>;
};

/** A `Dispatch` that answers from `handlers` for the methods of `table`. */
export function tableDispatch<T extends Record<string, MethodSpec>>(
  table: T,
  handlers: TableHandlers<T>,
  options: DispatcherOptions & { maxBatch?: number },
): Dispatch {
  const server = createTableDispatcher(
    Object.keys(table),
    (name, params) => parseParams(name, table[name]!.params, params),
    options.validateResults ? (name, result) => checkResult(table, name, result) : undefined,
    handlers as Record<string, LooseHandler | undefined>,
    options,
  );
  return (message, conn) => answer(server, message, conn, options.maxBatch);
}

function checkResult(table: Record<string, MethodSpec>, method: string, value: unknown): void {
  const parsed = table[method]!.result.safeParse(value);
  if (parsed.success) return;
  const first = summarizeIssues(parsed.error.issues)[0];
  const where = first ? `${first.path.replace(/^params/, 'result')}: ${first.message}` : 'invalid';
  throw new Error(`result of ${method} does not match the protocol: ${where}`);
}

/**
 * A server for the methods `names` that have a handler: `parse` validates a call's params (throwing
 * INVALID_PARAMS), `check`, when given, each result.
 */
function createTableDispatcher(
  names: readonly string[],
  parse: (method: string, params: unknown) => unknown,
  check: ((method: string, result: unknown) => void) | undefined,
  handlers: Record<string, LooseHandler | undefined>,
  options: DispatcherOptions,
): JSONRPCServer<RpcConnection> {
  const server = new JSONRPCServer<RpcConnection>({
    errorListener: (message, error) => {
      if (!(error instanceof RpcError)) options.logger(message, { error });
    },
  });
  server.mapErrorToJSONRPCErrorResponse = (id: JSONRPCID, error: unknown) => {
    if (error instanceof RpcError)
      return createJSONRPCErrorResponse(id, error.code, error.message, error.data);
    const message = error instanceof Error ? error.message : String(error);
    return createJSONRPCErrorResponse(id, errorCodes.INTERNAL_ERROR.code, `internal error: ${message}`);
  };
  server.handleMethodNotFound = (request: JSONRPCRequest) =>
    Promise.resolve(
      request.id === undefined
        ? null
        : createJSONRPCErrorResponse(
            request.id,
            errorCodes.METHOD_NOT_FOUND.code,
            `method not found: ${JSON.stringify(request.method)}`,
          ),
    );
  const direct = new Map<string, LooseHandler>();
  for (const name of names) {
    const handler = handlers[name];
    if (handler === undefined) continue;
    direct.set(name, (params, conn) => handler(parse(name, params), conn));
    server.addMethod(name, async (params: unknown, conn: RpcConnection) => {
      const result = await handler(parse(name, params), conn);
      check?.(name, result);
      return result;
    });
  }
  notificationHandlers.set(server, { handlers: direct, logger: options.logger });
  return server;
}

/**
 * Notifications get no answer, not even an error, so they need none of the response machinery: they are
 * validated and handed to their handler at once. Keystrokes arrive this way.
 */
const notificationHandlers = new WeakMap<
  JSONRPCServer<RpcConnection>,
  { handlers: Map<string, LooseHandler>; logger: Logger }
>();

function runNotification(
  server: JSONRPCServer<RpcConnection>,
  request: JSONRPCRequest,
  conn: RpcConnection,
): void {
  const entry = notificationHandlers.get(server);
  const handler = entry?.handlers.get(request.method);
  if (!entry || !handler) return;
  try {
    const result = handler(request.params, conn);
    if (result instanceof Promise) {
      result.catch((err: unknown) => {
        if (!(err instanceof RpcError)) entry.logger(`notification ${request.method} failed`, { error: err });
      });
    }
  } catch (err) {
    if (!(err instanceof RpcError)) entry.logger(`notification ${request.method} failed`, { error: err });
  }
}

/**
 * Answers one parsed JSON value: a request, a notification, or a batch of them. Resolves to what to send
 * back (null for nothing); never rejects.
 */
export async function answer(
  server: JSONRPCServer<RpcConnection>,
  value: unknown,
  conn: RpcConnection,
  maxBatch = Infinity,
): Promise<JSONRPCResponse | JSONRPCResponse[] | null> {
  if (!Array.isArray(value)) return answerOne(server, value, conn);
  if (value.length === 0) {
    return createJSONRPCErrorResponse(null, errorCodes.INVALID_REQUEST.code, 'invalid request: empty batch');
  }
  if (value.length > maxBatch) {
    return createJSONRPCErrorResponse(
      null,
      errorCodes.INVALID_REQUEST.code,
      `invalid request: a batch of ${value.length} messages; at most ${maxBatch}`,
      { limit: maxBatch },
    );
  }
  const responses = await Promise.all(value.map((item) => answerOne(server, item, conn)));
  const sent = responses.filter((r): r is JSONRPCResponse => r !== null);
  return sent.length === 0 ? null : sent;
}

async function answerOne(
  server: JSONRPCServer<RpcConnection>,
  value: unknown,
  conn: RpcConnection,
): Promise<JSONRPCResponse | null> {
  const check = checkEnvelope(value);
  if (!check.ok) return createJSONRPCErrorResponse(check.id, errorCodes.INVALID_REQUEST.code, check.message);
  if (check.request.id === undefined) {
    runNotification(server, check.request, conn);
    return null;
  }
  return server.receive(check.request, conn);
}
