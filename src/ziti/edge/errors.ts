/**
 * Errors of the edge layer (dial, bind and connections multiplexed over a channel).
 */
import { ZitiError, type ZitiErrorOptions } from '../errors.js';

/** The edge router refused or could not complete a dial (for example: the service has no host). */
export class DialFailedError extends ZitiError {
  readonly service: string;
  readonly router: string;
  constructor(service: string, router: string, reason: string, options: ZitiErrorOptions = {}) {
    super('ZITI_DIAL_FAILED', `dial of service "${service}" via edge router "${router}" failed: ${reason}`, {
      hint: /terminator|no host/i.test(reason)
        ? 'nothing is hosting the service right now; start its server'
        : undefined,
      ...options,
    });
    this.service = service;
    this.router = router;
  }
}

/** The edge router refused to host a service for us. */
export class BindFailedError extends ZitiError {
  readonly service: string;
  readonly router: string;
  constructor(service: string, router: string, reason: string, options: ZitiErrorOptions = {}) {
    super(
      'ZITI_BIND_FAILED',
      `binding service "${service}" on edge router "${router}" failed: ${reason}`,
      options,
    );
    this.service = service;
    this.router = router;
  }
}

/** An operation on a context or server that was already closed. */
export class ZitiClosedError extends ZitiError {
  constructor(what: string, options: ZitiErrorOptions = {}) {
    super('ZITI_CLOSED', `${what} is closed`, options);
  }
}

/** Hosting a service again after an outage gave up. */
export class RebindFailedError extends ZitiError {
  readonly service: string;
  constructor(service: string, attempts: number, elapsedMs: number, last: Error) {
    super(
      'ZITI_REBIND_FAILED',
      `could not host service "${service}" again after ${attempts} attempts over ${elapsedMs} ms: ${last.message}`,
      {
        cause: last,
        hint: 'check that the edge router and controller are reachable, then start the server again',
      },
    );
    this.service = service;
  }
}

/**
 * A connection's reader left more unread than its receive bound allows. Edge routers up to v1.7.2 give an SDK
 * without xgress flow control no way to slow one connection down; a reader that is reading gets a bounded
 * hold on the shared channel, but one that stopped (or only trickles) does not, so its connection is closed
 * (the router gets StateClosed) rather than letting it hold memory without limit or stall the others.
 */
export class ReceiveOverflowError extends ZitiError {
  readonly service: string;
  readonly connId: number;
  readonly limitBytes: number;
  constructor(service: string, connId: number, limitBytes: number, wouldHold: number) {
    super(
      'ZITI_RECEIVE_OVERFLOW',
      `connection ${connId} of service "${service}" closed: its reader left ${wouldHold} bytes unread, more than the ${limitBytes}-byte receive bound`,
      {
        hint: 'read the connection promptly (or pause the sender at the application level), or raise connReceiveBufferBytes',
      },
    );
    this.service = service;
    this.connId = connId;
    this.limitBytes = limitBytes;
  }
}
