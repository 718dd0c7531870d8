/**
 * One edge connection (dialed or hosted), multiplexed with others over a channel to an edge router.
 * Behaves like a socket: a Duplex whose writes are acknowledged once the channel accepts them, whose
 * `end()` sends a half-close (a data message with the FIN flag), and whose `destroy()` closes the
 * connection at the router.
 *
 * The router gives an SDK without xgress flow control no per-connection window, so what this connection's
 * reader leaves unread is held here, up to `receiveBufferLimit` bytes. A reader that is reading but slower
 * than its sender pauses the channel for a bounded time instead (ReceiveHold); a reader that stopped never
 * does, and past the bound costs only its own connection: it is closed with ReceiveOverflowError and the
 * router is told (StateClosed); the channel and its other connections are untouched.
 */
import { Duplex } from 'node:stream';
import type { Channel } from '../channel/channel.js';
import { getUint32, type Message } from '../channel/message.js';
import type { ConnCrypto } from '../crypto/e2ee.js';
import { ConnectionClosedByRouterError } from '../errors.js';
import { ReceiveOverflowError } from './errors.js';
import { dataMessage, stateClosedMessage } from './messages.js';
import { EdgeContentType, EdgeFlag, EdgeHeader } from './protocol.js';
import { ReceiveHold } from './receive-hold.js';

/** Largest plaintext carried by one data message. */
export const MAX_DATA_CHUNK = 64 * 1024;
/** The readable side's high-water mark; holds start at connReceiveHold.bytes, the hard bound is receiveBufferLimit. */
const READABLE_HIGH_WATER_MARK = 1024 * 1024;

export interface EdgeConnOptions {
  channel: Channel;
  routerName: string;
  connId: number;
  service: string;
  role: 'dial' | 'host';
  crypto?: ConnCrypto;
  /** On hosted connections: the caller id the dialing side asserted. */
  callerId?: string;
  /** On hosted connections: the dialing identity as the router vouches for it (routers from Ziti 2.0 on). */
  dialerIdentityId?: string;
  dialerIdentityName?: string;
  circuitId?: string;
  appData?: Buffer;
  /** Called once when the connection is gone, so the owner can forget its id. */
  onGone: (conn: EdgeConn) => void;
}

export class EdgeConn extends Duplex {
  readonly connId: number;
  readonly service: string;
  readonly role: 'dial' | 'host';
  readonly routerName: string;
  readonly callerId: string | undefined;
  /** Hosted connections: the dialing identity's id and name, set by the router (absent from older routers). */
  readonly dialerIdentityId: string | undefined;
  readonly dialerIdentityName: string | undefined;
  readonly circuitId: string | undefined;
  readonly appData: Buffer | undefined;
  readonly encrypted: boolean;
  /** Why the connection closed, once it has (router text, or a local reason). */
  closeReason: string | undefined;
  /**
   * Most bytes this connection holds unread before it is closed with ReceiveOverflowError. Starts as the
   * channel's `connReceiveBufferBytes`; may be changed per connection.
   */
  receiveBufferLimit: number;
  /** The most bytes this connection has held unread at once. */
  receiveBufferPeak = 0;
  private readonly channel: Channel;
  private readonly hold: ReceiveHold;
  private readonly crypto: ConnCrypto | undefined;
  private readonly onGone: (conn: EdgeConn) => void;
  private seq = 0;
  private remoteClosed = false;
  private finReceived = false;
  private gone = false;

  constructor(options: EdgeConnOptions) {
    super({
      readableHighWaterMark: READABLE_HIGH_WATER_MARK,
      writableHighWaterMark: MAX_DATA_CHUNK,
      allowHalfOpen: true,
    });
    this.channel = options.channel;
    this.receiveBufferLimit = options.channel.connReceiveBufferBytes;
    this.routerName = options.routerName;
    this.connId = options.connId;
    this.service = options.service;
    this.role = options.role;
    this.crypto = options.crypto;
    this.encrypted = options.crypto !== undefined;
    this.callerId = options.callerId;
    this.dialerIdentityId = options.dialerIdentityId;
    this.dialerIdentityName = options.dialerIdentityName;
    this.circuitId = options.circuitId;
    this.appData = options.appData;
    this.onGone = options.onGone;
    this.hold = new ReceiveHold(options.channel, options.channel.connReceiveHold, () => this.readableLength);
  }

  /** Socket-like address fields: the service stands in for the address. */
  get remoteAddress(): string {
    return this.role === 'host' ? `ziti:${this.callerId ?? 'unknown'}` : `ziti:${this.service}`;
  }

  get localAddress(): string {
    return `ziti:${this.service}`;
  }

  /** Bytes received and not yet read (0 once the connection is destroyed: they can no longer be read). */
  get receiveBuffered(): number {
    return this.destroyed ? 0 : this.readableLength;
  }

  /** How often this connection has paused its channel's reading (its reader was slower than its sender). */
  get receiveHolds(): number {
    return this.hold.holds;
  }

  /** Milliseconds this connection's finished holds paused its channel in all. */
  get receiveHeldMs(): number {
    return this.hold.heldMs;
  }

  /** Whether this connection holds its channel's reading now. */
  get holdingChannel(): boolean {
    return this.hold.holding;
  }

  /** The channel (one per edge router) this connection travels on. */
  get channelId(): number {
    return this.channel.id;
  }

  /** Sends our stream header when the connection is encrypted; call once before handing the connection out. */
  async start(): Promise<void> {
    if (this.crypto) await this.channel.send(dataMessage(this.connId, this.nextSeq(), this.crypto.txHeader));
  }

  /** Routes an edge message addressed to this connection. */
  handle(msg: Message): void {
    if (this.destroyed) return;
    if (msg.contentType === EdgeContentType.data) this.onData(msg);
    else if (msg.contentType === EdgeContentType.stateClosed) this.onRemoteClosed(msg.body.toString('utf8'));
  }

  /**
   * The channel under this connection is gone: nothing more can be sent or received. `err` is undefined when
   * the channel was closed on purpose (the context closed), which ends the connection without an error.
   */
  channelLost(err: Error | undefined): void {
    if (this.destroyed) return;
    this.remoteClosed = true;
    this.closeReason = err?.message ?? 'the Ziti context was closed';
    if (err === undefined || (this.readableEnded && this.writableFinished)) this.destroy();
    else this.destroy(err);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.sendChunks(chunk).then(
      () => callback(),
      (err: unknown) => callback(err as Error),
    );
  }

  /**
   * Writes that queued up while the channel was busy (or while corked) go out together: one data message per
   * MAX_DATA_CHUNK instead of one per write, which saves a frame, an encryption and a TLS record per write
   * when a relay forwards many small pieces.
   */
  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    const joined = chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this.sendChunks(joined).then(
      () => callback(),
      (err: unknown) => callback(err as Error),
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.remoteClosed) {
      callback();
      return;
    }
    this.channel.send(dataMessage(this.connId, this.nextSeq(), Buffer.alloc(0), EdgeFlag.fin)).then(
      () => callback(),
      (err: unknown) => callback(err as Error),
    );
  }

  // Every way of consuming (flowing mode, pipe, read(), async iteration) goes through read().
  override read(size?: number): unknown {
    const chunk: unknown = super.read(size);
    this.hold.update();
    return chunk;
  }

  override _read(): void {
    // Data is pushed as it arrives; the hold (see read()) is what slows the router down.
    this.hold.update();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.remoteClosed) {
      this.remoteClosed = true;
      this.closeReason ??= error ? error.message : 'closed locally';
      if (!this.channel.closed) {
        this.channel.sendBestEffort(
          stateClosedMessage(this.connId, this.nextSeq(), error ? error.message : ''),
          'close of a connection',
        );
      }
    }
    this.hold.end();
    this.release();
    callback(error);
  }

  private release(): void {
    if (!this.gone) {
      this.gone = true;
      this.onGone(this);
    }
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  private async sendChunks(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; offset += MAX_DATA_CHUNK) {
      if (this.remoteClosed) {
        throw new ConnectionClosedByRouterError(this.routerName, this.closeReason ?? 'connection closed');
      }
      const piece = chunk.subarray(offset, Math.min(chunk.length, offset + MAX_DATA_CHUNK));
      const body = this.crypto ? this.crypto.encrypt(piece) : piece;
      await this.channel.send(dataMessage(this.connId, this.nextSeq(), body));
    }
  }

  private onData(msg: Message): void {
    if (this.finReceived) return;
    const flags = getUint32(msg.headers, EdgeHeader.flags) ?? 0;
    if (msg.body.length > 0) {
      let plain: Buffer;
      try {
        if (this.crypto?.awaitingHeader) {
          this.crypto.acceptHeader(msg.body);
          plain = Buffer.alloc(0);
        } else {
          plain = this.crypto ? this.crypto.decrypt(msg.body) : msg.body;
        }
      } catch (err) {
        this.destroy(err as Error);
        return;
      }
      if ((flags & EdgeFlag.multipartMsg) !== 0) {
        for (const part of splitMultipart(plain)) this.deliver(part);
      } else if (plain.length > 0) {
        this.deliver(plain);
      }
      if (this.destroyed) return;
    }
    if ((flags & EdgeFlag.fin) !== 0) {
      this.finReceived = true;
      this.hold.end();
      this.push(null);
    }
  }

  private deliver(bytes: Buffer): void {
    if (this.destroyed) return;
    const wouldHold = this.readableLength + bytes.length;
    if (wouldHold > this.receiveBufferLimit) {
      this.destroy(new ReceiveOverflowError(this.service, this.connId, this.receiveBufferLimit, wouldHold));
      return;
    }
    // push() returning false only means "above the high-water mark": the hold and the bound are what limit.
    this.push(bytes);
    if (this.readableLength > this.receiveBufferPeak) this.receiveBufferPeak = this.readableLength;
    this.hold.received(bytes.length);
  }

  private onRemoteClosed(reason: string): void {
    this.remoteClosed = true;
    this.closeReason = reason || 'closed by the edge router';
    this.hold.end();
    this.release();
    if (!this.finReceived) {
      this.finReceived = true;
      this.push(null);
    }
    // The router forgets the connection: finish once the reader has taken what already arrived.
    if (this.readableEnded) this.destroy();
    else this.once('end', () => this.destroy());
  }
}

/** Splits a multipart body: parts each prefixed by a little-endian uint16 length. */
export function splitMultipart(body: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 2 <= body.length) {
    const length = body.readUInt16LE(offset);
    parts.push(body.subarray(offset + 2, offset + 2 + length));
    offset += 2 + length;
  }
  return parts;
}
