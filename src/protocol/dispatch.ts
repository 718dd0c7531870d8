/**
 * Dispatch: a `json-rpc-2.0` server built from the method table and a handler table. It sees parsed
 * messages only, never bytes. Params are validated before a handler runs; results optionally after.
 */
import { JSONRPCServer, createJSONRPCErrorResponse } from 'json-rpc-2.0';
import type { z } from 'zod';
import type { JSONRPCID, JSONRPCRequest, JSONRPCResponse } from 'json-rpc-2.0';
import { RpcError, errorCodes } from './errors.js';
import { methods } from './methods.js';
import type { MethodName, ParamsOf, ResultOf } from './methods.js';
import { checkEnvelope, parseParams, summarizeIssues } from './validate.js';
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

/** A `Dispatch` that answers from `handlers` (batches of at most `maxBatch` members). */
export function handlerDispatch(
  handlers: HandlerTable,
  options: DispatcherOptions & { maxBatch?: number },
): Dispatch {
  const server = createDispatcher(handlers, options);
  return (message, conn) => answer(server, message, conn, options.maxBatch);
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
  const server = createTableDispatcher(table, handlers as Record<string, LooseHandler | undefined>, options);
  return (message, conn) => answer(server, message, conn, options.maxBatch);
}

function checkResult(table: Record<string, MethodSpec>, method: string, value: unknown): void {
  const parsed = table[method]!.result.safeParse(value);
  if (parsed.success) return;
  const first = summarizeIssues(parsed.error.issues)[0];
  const where = first ? `${first.path.replace(/^params/, 'result')}: ${first.message}` : 'invalid';
  throw new Error(`result of ${method} does not match the protocol: ${where}`);
}

export function createDispatcher(
  handlers: HandlerTable,
  options: DispatcherOptions,
): JSONRPCServer<RpcConnection> {
  return createTableDispatcher(methods, handlers as Record<string, LooseHandler | undefined>, options);
}

function createTableDispatcher(
  table: Record<string, MethodSpec>,
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
  for (const name of Object.keys(table)) {
    const handler = handlers[name];
    if (handler === undefined) continue;
    const schema = table[name]!.params;
    direct.set(name, (params, conn) => handler(parseParams(name, schema, params), conn));
    server.addMethod(name, async (params: unknown, conn: RpcConnection) => {
      const result = await handler(parseParams(name, schema, params), conn);
      if (options.validateResults) checkResult(table, name, result);
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
