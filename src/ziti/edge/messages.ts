/**
 * Builders for the edge messages an SDK sends.
 */
import {
  newMessage,
  putBool,
  putByte,
  putString,
  putUint16,
  putUint32,
  type Message,
} from '../channel/message.js';
import { CRYPTO_METHOD_LIBSODIUM, EdgeContentType, EdgeHeader } from './protocol.js';

function connMessage(contentType: number, connId: number, body: Buffer | string = Buffer.alloc(0)): Message {
  const msg = newMessage(contentType, body);
  putUint32(msg.headers, EdgeHeader.connId, connId);
  return msg;
}

export interface ConnectOptions {
  publicKey?: Uint8Array;
  callerId?: string;
  appData?: Buffer;
  marker?: string;
  terminatorIdentity?: string;
}

/** Dial a service: body is the Dial session token. */
export function connectMessage(connId: number, sessionToken: string, options: ConnectOptions = {}): Message {
  const msg = connMessage(EdgeContentType.connect, connId, sessionToken);
  if (options.publicKey) {
    msg.headers.set(EdgeHeader.publicKey, Buffer.from(options.publicKey));
    putByte(msg.headers, EdgeHeader.cryptoMethod, CRYPTO_METHOD_LIBSODIUM);
  }
  if (options.callerId) putString(msg.headers, EdgeHeader.callerId, options.callerId);
  if (options.appData) msg.headers.set(EdgeHeader.appData, options.appData);
  if (options.marker) putString(msg.headers, EdgeHeader.connectionMarker, options.marker);
  if (options.terminatorIdentity)
    putString(msg.headers, EdgeHeader.terminatorIdentity, options.terminatorIdentity);
  putBool(msg.headers, EdgeHeader.useXgressToSdk, false);
  return msg;
}

export type Precedence = 'default' | 'required' | 'failed';

const PRECEDENCE_VALUE: Record<Precedence, number> = { default: 0, required: 1, failed: 2 };

export interface BindOptions {
  publicKey?: Uint8Array;
  listenerId?: string;
  terminatorIdentity?: string;
  /** Routing cost of this terminator, 0..65535 (lower is preferred). */
  cost?: number;
  /** 'required' terminators are chosen before 'default' ones, 'failed' ones last. */
  precedence?: Precedence;
}

/** Host a service: body is the Bind session token; the router assigns ids to the connections it hands us. */
export function bindMessage(connId: number, sessionToken: string, options: BindOptions = {}): Message {
  const msg = connMessage(EdgeContentType.bind, connId, sessionToken);
  putBool(msg.headers, EdgeHeader.supportsInspect, true);
  putBool(msg.headers, EdgeHeader.supportsBindSuccess, true);
  putBool(msg.headers, EdgeHeader.useXgressToSdk, false);
  if (options.publicKey) {
    msg.headers.set(EdgeHeader.publicKey, Buffer.from(options.publicKey));
    putByte(msg.headers, EdgeHeader.cryptoMethod, CRYPTO_METHOD_LIBSODIUM);
  }
  if (options.cost !== undefined && options.cost > 0) putUint16(msg.headers, EdgeHeader.cost, options.cost);
  if (options.precedence !== undefined && options.precedence !== 'default') {
    putByte(msg.headers, EdgeHeader.precedence, PRECEDENCE_VALUE[options.precedence]);
  }
  if (options.listenerId) putString(msg.headers, EdgeHeader.listenerId, options.listenerId);
  if (options.terminatorIdentity)
    putString(msg.headers, EdgeHeader.terminatorIdentity, options.terminatorIdentity);
  putBool(msg.headers, EdgeHeader.routerProvidedConnId, true);
  return msg;
}

export function unbindMessage(connId: number, sessionToken: string): Message {
  return connMessage(EdgeContentType.unbind, connId, sessionToken);
}

export function dataMessage(connId: number, seq: number, body: Buffer, flags = 0): Message {
  const msg = connMessage(EdgeContentType.data, connId, body);
  putUint32(msg.headers, EdgeHeader.seq, seq);
  if (flags !== 0) putUint32(msg.headers, EdgeHeader.flags, flags);
  return msg;
}

export function stateClosedMessage(connId: number, seq: number, reason = ''): Message {
  const msg = connMessage(EdgeContentType.stateClosed, connId, reason);
  putUint32(msg.headers, EdgeHeader.seq, seq);
  return msg;
}

/** Answer to a router's Dial: the body names the new connection's id. */
export function dialSuccessMessage(listenerConnId: number, newConnId: number): Message {
  const body = Buffer.alloc(4);
  body.writeUInt32LE(newConnId >>> 0, 0);
  return connMessage(EdgeContentType.dialSuccess, listenerConnId, body);
}

export function dialFailedMessage(listenerConnId: number, reason: string): Message {
  return connMessage(EdgeContentType.dialFailed, listenerConnId, reason);
}

export function connInspectResponse(connId: number, connType: number, state: object): Message {
  const msg = connMessage(EdgeContentType.connInspectResponse, connId, JSON.stringify(state));
  putByte(msg.headers, EdgeHeader.connType, connType);
  return msg;
}
