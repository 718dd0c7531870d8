/**
 * A channel message: content type, sequence, typed headers and a body. Header values are raw bytes; the
 * helpers below read and write the little-endian encodings the protocol uses.
 */
import { ChannelContentType, ChannelHeader } from './protocol.js';

export type Headers = Map<number, Buffer>;

export interface Message {
  contentType: number;
  /** Assigned by the channel when the message is sent. */
  sequence: number;
  headers: Headers;
  body: Buffer;
}

export function newMessage(
  contentType: number,
  body: Buffer | string = Buffer.alloc(0),
  headers?: Headers,
): Message {
  return {
    contentType,
    sequence: 0,
    headers: headers ?? new Map<number, Buffer>(),
    body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
  };
}

export function putUint32(headers: Headers, key: number, value: number): void {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0, 0);
  headers.set(key, b);
}

export function putInt32(headers: Headers, key: number, value: number): void {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value | 0, 0);
  headers.set(key, b);
}

export function putUint64(headers: Headers, key: number, value: bigint): void {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, value), 0);
  headers.set(key, b);
}

export function putUint16(headers: Headers, key: number, value: number): void {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value & 0xffff, 0);
  headers.set(key, b);
}

export function putBool(headers: Headers, key: number, value: boolean): void {
  headers.set(key, Buffer.from([value ? 1 : 0]));
}

export function putByte(headers: Headers, key: number, value: number): void {
  headers.set(key, Buffer.from([value & 0xff]));
}

export function putString(headers: Headers, key: number, value: string): void {
  headers.set(key, Buffer.from(value, 'utf8'));
}

/** The value only when it is exactly four bytes, as the reference implementation requires. */
export function getUint32(headers: Headers, key: number): number | undefined {
  const b = headers.get(key);
  return b !== undefined && b.length === 4 ? b.readUInt32LE(0) : undefined;
}

export function getInt32(headers: Headers, key: number): number | undefined {
  const b = headers.get(key);
  return b !== undefined && b.length === 4 ? b.readInt32LE(0) : undefined;
}

export function getUint64(headers: Headers, key: number): bigint | undefined {
  const b = headers.get(key);
  return b !== undefined && b.length === 8 ? b.readBigUInt64LE(0) : undefined;
}

export function getBool(headers: Headers, key: number): boolean | undefined {
  const b = headers.get(key);
  if (b === undefined) return undefined;
  return b.length > 0 && b[0] === 1;
}

export function getByte(headers: Headers, key: number): number | undefined {
  const b = headers.get(key);
  return b !== undefined && b.length > 0 ? b[0] : undefined;
}

export function getString(headers: Headers, key: number): string | undefined {
  return headers.get(key)?.toString('utf8');
}

/** The sequence this message answers, or undefined when it is not a reply. */
export function replyFor(msg: Message): number | undefined {
  return getInt32(msg.headers, ChannelHeader.replyFor);
}

/** Marks `reply` as the answer to `request`, copying the reflected header as the protocol does. */
export function markReply(reply: Message, request: Message): Message {
  putInt32(reply.headers, ChannelHeader.replyFor, request.sequence);
  const reflected = request.headers.get(ChannelHeader.reflected);
  if (reflected !== undefined) reply.headers.set(ChannelHeader.reflected, reflected);
  return reply;
}

/** A channel `Result` message: success flag header plus a text body. */
export function resultMessage(success: boolean, text = ''): Message {
  const msg = newMessage(ChannelContentType.result, text);
  putBool(msg.headers, ChannelHeader.resultSuccess, success);
  return msg;
}
