/**
 * Serving one connection over any byte stream (a Unix socket, a Ziti connection): composes the framing
 * (`MessageFraming`: lines, binary frames and the switch between them), the bookkeeping of requests in
 * flight (`RequestGate`), dispatch (a `Dispatch`, the handler table's by default) and the connection itself
 * (`RpcConnection`). Nothing a client sends can make this throw; a bad or slow client only ever loses its
 * own connection.
 */
import type { Duplex } from 'node:stream';
import { createJSONRPCErrorResponse } from 'json-rpc-2.0';
import { errorMessage } from '../errors.js';
import { RpcConnection } from './connection.js';
import type { ConnectionOptions } from './connection.js';
import { handlerDispatch } from './dispatch.js';
import type { Dispatch, HandlerTable } from './dispatch.js';
import { errorCodes } from './errors.js';
import { NO_FRAMING_SWITCH } from './framing-switch.js';
import type { FramingSwitch } from './framing-switch.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.js';
import { MessageFraming } from './message-framing.js';
import { DEFAULT_MAX_IN_FLIGHT, RequestGate } from './request-gate.js';

export interface ServeOptions extends ConnectionOptions {
  maxLineBytes?: number;
  /**
   * Requests answered at once on this connection (a batch counts each member). Past it, or while more than
   * `pauseQueuedBytes` of answers wait to be read, nothing more is read from the client until it catches up.
   */
  maxInFlight?: number;
  pauseQueuedBytes?: number;
  /** Check results against the method table (default off). Applies to the handler table's dispatch. */
  validateResults?: boolean;
  /** Which messages switch the connection to binary frames; by default none does. */
  framingSwitch?: FramingSwitch;
  /** Terminal bytes the client sent in a binary frame; without it they are discarded. */
  onTerminalInput?: (data: Buffer, conn: RpcConnection) => void;
  /** Which request hands the byte stream over to someone else once answered; by default none does. */
  handOver?: HandOver;
}

/**
 * Handing a connection's byte stream over (the daemon's `open_loop`): the request that asks for it holds
 * what follows, undecoded, until its answer has been sent. A result is sent only once every request read
 * before it has been answered, so no answer is lost. If the answer is a result, serving ends (the
 * connection closes as `handed over`) and `take` gets the stream, paused, with the bytes the client sent
 * after the request; otherwise the connection goes on with lines.
 */
export interface HandOver {
  asks(message: unknown): boolean;
  take(stream: Duplex, pending: Buffer[], conn: RpcConnection): void;
}

/** Serves `handlers` on `stream`. Returns at once; the connection runs by itself. */
export function serveConnection(
  stream: Duplex,
  handlers: HandlerTable,
  options: ServeOptions = {},
): RpcConnection {
  const dispatch = handlerDispatch(handlers, {
    logger: options.logger ?? (() => undefined),
    validateResults: options.validateResults ?? false,
    maxBatch: options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
  });
  return serveWith(stream, dispatch, options);
}

/** Serves `stream`, answering each message through `dispatch`. */
export function serveWith(stream: Duplex, dispatch: Dispatch, options: ServeOptions = {}): RpcConnection {
  const log = options.logger ?? (() => undefined);
  const switcher = options.framingSwitch ?? NO_FRAMING_SWITCH;
  const framing = new MessageFraming(
    {
      onMessage: (text) => handleMessage(text),
      onTerminal: (data) => {
        try {
          options.onTerminalInput?.(data, conn);
        } catch (err) {
          log('terminal input failed', { conn: conn.id, error: err });
        }
      },
      onUnknownFrame: (type) =>
        conn.send(
          createJSONRPCErrorResponse(
            null,
            errorCodes.INVALID_REQUEST.code,
            `invalid request: unknown frame type ${type}; frame discarded`,
          ),
        ),
      onOversize: (what, bytes) => {
        log(`${what} from ${conn.label} over ${framing.maxBytes} bytes discarded`, { conn: conn.id, bytes });
        conn.send(
          createJSONRPCErrorResponse(
            null,
            errorCodes.LINE_TOO_LONG.code,
            `${what} too long: over ${framing.maxBytes} bytes`,
            { limit: framing.maxBytes },
          ),
        );
      },
      onTruncated: (what, bytes) =>
        log(`connection ${conn.label} ended in the middle of a ${what}; ${bytes} bytes discarded`, {
          conn: conn.id,
        }),
    },
    options.maxLineBytes,
  );
  const conn = new RpcConnection(stream, options, framing);
  const gate = new RequestGate({
    maxInFlight: options.maxInFlight,
    pauseQueuedBytes: options.pauseQueuedBytes,
    queuedBytes: () => conn.queuedBytes,
    closed: () => conn.closed,
    pause: () => {
      framing.pause();
      stream.pause();
    },
    resume: () => {
      stream.resume();
      framing.resume();
    },
  });
  let peerEnded = false;
  const maybeFinishAfterEnd = (): void => {
    if (!peerEnded || !gate.idle) return;
    conn.finish('peer closed');
    conn.endStream();
  };
  conn.on('drain', () => {
    gate.check();
    maybeFinishAfterEnd();
  });

  function handleMessage(text: string): void {
    if (conn.closed || text.length === 0 || (text.charCodeAt(0) <= 0x20 && text.trim() === '')) return;
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
      conn.send(
        createJSONRPCErrorResponse(
          null,
          errorCodes.NESTED_TOO_DEEP.code,
          `invalid request: nested deeper than ${MAX_JSON_DEPTH} levels`,
          { limit: MAX_JSON_DEPTH },
        ),
      );
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      conn.send(
        createJSONRPCErrorResponse(null, errorCodes.PARSE_ERROR.code, `parse error: ${errorMessage(err)}`),
      );
      return;
    }
    // A request to switch to binary frames: whatever follows it is held until its answer has been sent,
    // then read as frames (or as lines again, if it failed).
    const ready = framing.framing === 'ndjson' && !framing.switching;
    const handing = ready && options.handOver !== undefined && options.handOver.asks(value);
    const switching = ready && !handing && switcher.asksForFrames(value);
    if (switching || handing) framing.hold();
    const weight = gate.weight(Array.isArray(value) ? value.length : 1);
    gate.begin(weight);
    dispatch(value, conn)
      .then(
        async (response) => {
          if (handing && isResult(response)) {
            // Requests sent before it are answered on this connection first; then the stream is theirs.
            await othersAnswered(weight);
            if (conn.closed) return;
            conn.send(response);
            handOverStream();
            return;
          }
          if (response !== null) conn.send(response);
          if (switching || handing) framing.settle(isResult(response) && switching && !conn.closed);
        },
        (err: unknown) => {
          log('dispatch failed', { conn: conn.id, error: err });
          if (switching || handing) framing.settle(false);
        },
      )
      .finally(() => {
        gate.end(weight);
        wakeHandOver();
        maybeFinishAfterEnd();
      });
  }

  // A hand-over waiting for the requests in flight before it (only one: reading is held meanwhile).
  let handOverWaiter: { weight: number; wake: () => void } | null = null;
  function othersAnswered(weight: number): Promise<void> {
    if (gate.count <= weight) return Promise.resolve();
    return new Promise((resolve) => (handOverWaiter = { weight, wake: resolve }));
  }
  function wakeHandOver(): void {
    if (handOverWaiter === null || (gate.count > handOverWaiter.weight && !conn.closed)) return;
    const { wake } = handOverWaiter;
    handOverWaiter = null;
    wake();
  }

  /** The answer to a hand-over request has been sent: once it has left the queue, the stream is theirs. */
  function handOverStream(): void {
    const take = (): void => {
      if (conn.closed) return;
      stream.pause();
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      const pending = framing.release();
      conn.finish('handed over');
      try {
        options.handOver?.take(stream, pending, conn);
      } catch (err) {
        log('hand-over failed', { conn: conn.id, error: err });
        stream.destroy();
      }
    };
    // Bytes the stream itself buffers go out in order; only answers still queued here must leave first.
    if (conn.queuedBytes > stream.writableLength) conn.once('drain', take);
    else take();
  }

  const onData = (chunk: Buffer | string): void => {
    try {
      framing.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    } catch (err) {
      log('failed to handle input', { conn: conn.id, error: err });
    }
  };
  const onEnd = (): void => {
    framing.end();
    peerEnded = true;
    maybeFinishAfterEnd();
  };
  const onError = (err: Error): void => {
    log(`connection ${conn.label} failed: ${err.message}`, { conn: conn.id, error: err });
    conn.finish(`connection error: ${err.message}`);
    stream.destroy();
  };
  const onClose = (): void => {
    framing.end();
    conn.finish('connection closed');
    wakeHandOver();
  };
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', onError);
  stream.on('close', onClose);
  return conn;
}

function isResult(response: unknown): boolean {
  return (
    typeof response === 'object' && response !== null && !Array.isArray(response) && 'result' in response
  );
}
