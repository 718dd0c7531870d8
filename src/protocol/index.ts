/** The per-loop protocol: NDJSON framing, the method and event tables, errors, server and client. */
export { LineDecoder, encodeLine, DEFAULT_MAX_LINE_BYTES } from './framing.js';
export type { LineDecoderOptions } from './framing.js';
export {
  FRAME_HEADER_BYTES,
  FRAME_MESSAGE,
  FRAME_TERMINAL,
  FrameDecoder,
  asksForFrames,
  encodeFrame,
  messageFrame,
} from './frames.js';
export type { Framing, FrameDecoderOptions } from './frames.js';
export { errorCodes, ErrorCode, errorName, RpcError, isRpcError } from './errors.js';
export type { ErrorName, ErrorCodeSpec } from './errors.js';
export { methods, METHOD_NAMES, isMethodName } from './methods.js';
export type { Methods, MethodName, ParamsOf, ParamsInputOf, ResultOf } from './methods.js';
export type { MethodSpec } from './spec.js';
export { events, EVENT_METHOD, EVENT_TYPES, makeEvent, isEventOf, ptyEventLine } from './events.js';
export type { Events, EventType, EventDataOf, EventSpec, LoopEvent, WireEvent } from './events.js';
export {
  LOOP_STATUSES,
  SUBSCRIBABLE_EVENTS,
  MAX_INPUT_BYTES,
  statusSnapshot,
  statusChange,
  iterationRecord,
  storySummary,
} from './schemas.js';
export type {
  LoopStatus,
  SubscribableEvent,
  StatusSnapshot,
  StatusChange,
  IterationRecord,
  StorySummary,
} from './schemas.js';
export { MAX_LOG_CHUNK, DEFAULT_LOG_CHUNK } from './methods/logs.js';
export { serveConnection, RpcConnection } from './connection.js';
export type { ServeOptions, HandlerTable, Handler, Logger } from './connection.js';
export { DEFAULT_MAX_QUEUED_BYTES } from './write-queue.js';
export { RpcClient, DEFAULT_REQUEST_TIMEOUT_MS } from './client.js';
export type { RpcClientOptions, RequestOptions } from './client.js';
export { renderProtocolDoc } from './render-doc.js';
