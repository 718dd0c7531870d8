/**
 * Errors of the channel layer (the framed, mutually authenticated link to one edge router).
 */
import { ZitiError, type ZitiErrorOptions } from '../errors.js';

/** The peer sent bytes that are not a valid channel frame, or a frame over the size limit. */
export class ChannelProtocolError extends ZitiError {
  constructor(detail: string, options: ZitiErrorOptions = {}) {
    super('ZITI_CHANNEL_PROTOCOL', `edge router protocol error: ${detail}`, options);
  }
}

/** The edge router could not be reached or refused the TLS handshake. */
export class RouterUnreachableError extends ZitiError {
  readonly url: string;
  constructor(url: string, reason: string, options: ZitiErrorOptions = {}) {
    super('ZITI_ROUTER_UNREACHABLE', `edge router ${url} is unreachable: ${reason}`, {
      hint: 'check that the edge router is running and that its advertised address resolves from this machine',
      ...options,
    });
    this.url = url;
  }
}

/** The edge router answered the channel hello with a refusal (for example an unknown API session). */
export class HelloRejectedError extends ZitiError {
  readonly url: string;
  constructor(url: string, reason: string, options: ZitiErrorOptions = {}) {
    super('ZITI_ROUTER_REJECTED', `edge router ${url} refused the connection: ${reason}`, {
      hint: 'the API session may have expired or not yet reached the router; authenticate again',
      ...options,
    });
    this.url = url;
  }
}

/** A request sent over the channel got no answer in time. */
export class ChannelTimeoutError extends ZitiError {
  constructor(what: string, timeoutMs: number, options: ZitiErrorOptions = {}) {
    super('ZITI_TIMEOUT', `${what} got no answer within ${timeoutMs} ms`, options);
  }
}

/** A channel option out of range (for example a receive bound that is not a positive integer). */
export class InvalidChannelOptionError extends ZitiError {
  constructor(option: string, value: unknown, expected: string, options: ZitiErrorOptions = {}) {
    super('ZITI_INVALID_OPTION', `${option} must be ${expected}, got ${String(value)}`, options);
  }
}
