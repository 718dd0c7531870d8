/**
 * Dispatch: a `json-rpc-2.0` server built from the method table and a handler table. It sees parsed
 * messages only, never bytes. Params are validated before a handler runs; results optionally after.
 */
import { JSONRPCServer, createJSONRPCErrorResponse } from 'json-rpc-2.0';
import type { JSONRPCID, JSONRPCRequest, JSONRPCResponse } from 'json-rpc-2.0';
import { RpcError, errorCodes } from './errors.js';
import { METHOD_NAMES, methods } from './methods.js';
import type { MethodName, ParamsOf, ResultOf } from './methods.js';
import { checkEnvelope, parseParams, summarizeIssues } from './validate.js';
import type { RpcConnection } from './connection.js';

export type Handler<M extends MethodName> = (
  params: ParamsOf<M>,
  conn: RpcConnection,
) => ResultOf<M> | Promise<ResultOf<M>>;

/** Handlers by method name. A method of the table without a handler answers "method not found". */
export type HandlerTable = { [M in MethodName]?: Handler<M> };

export type Logger = (msg: string, ctx?: object) => void;

export interface DispatcherOptions {
  logger: Logger;
  /** Check every result against the table (on under tests, where a mismatch should fail loudly). */
  validateResults: boolean;
}

type LooseHandler = (params: unknown, conn: RpcConnection) => unknown;

function checkResult(method: MethodName, value: unknown): void {
  const parsed = methods[method].result.safeParse(value);
  if (parsed.success) return;
  const first = summarizeIssues(parsed.error.issues)[0];
  const where = first ? `${first.path.replace(/^params/, 'result')}: ${first.message}` : 'invalid';
  throw new Error(`result of ${method} does not match the protocol: ${where}`);
}

export function createDispatcher(
  handlers: HandlerTable,
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
  for (const name of METHOD_NAMES) {
    const handler = handlers[name] as LooseHandler | undefined;
    if (handler === undefined) continue;
    const schema = methods[name].params;
    direct.set(name, (params, conn) => handler(parseParams(name, schema, params), conn));
    server.addMethod(name, async (params: unknown, conn: RpcConnection) => {
      const result = await handler(parseParams(name, schema, params), conn);
      if (options.validateResults) checkResult(name, result);
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
