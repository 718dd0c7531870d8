/** The per-loop protocol: NDJSON framing, the method and event tables, errors, server and client. */
export { LineDecoder, encodeLine, DEFAULT_MAX_LINE_BYTES } from './framing.js';
export type { LineDecoderOptions } from './framing.js';
export {
  FRAME_HEADER_BYTES,
  FRAME_MESSAGE,
  FRAME_TERMINAL,
  FrameDecoder,
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
export { RpcConnection } from './connection.js';
export type { ConnectionOptions, OutgoingFraming } from './connection.js';
export { serveConnection, serveWith } from './serve.js';
export type { ServeOptions, HandOver } from './serve.js';
export { handlerDispatch, tableDispatch } from './dispatch.js';
export type { Dispatch, HandlerTable, Handler, Logger, TableHandlers } from './dispatch.js';
export { MessageFraming } from './message-framing.js';
export type { MessageFramingEvents } from './message-framing.js';
export { RequestGate, DEFAULT_MAX_IN_FLIGHT, DEFAULT_PAUSE_QUEUED_BYTES } from './request-gate.js';
export type { RequestGateOptions } from './request-gate.js';
export { attachFramingSwitch, NO_FRAMING_SWITCH } from './framing-switch.js';
export type { FramingSwitch } from './framing-switch.js';
export { DEFAULT_MAX_QUEUED_BYTES } from './write-queue.js';
export { RpcClient, DEFAULT_REQUEST_TIMEOUT_MS } from './client.js';
export type { RpcClientOptions, RequestOptions } from './client.js';
export { renderProtocolDoc } from './render-doc.js';
