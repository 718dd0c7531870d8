/**
 * The edge layer over one channel to one edge router: routes messages to connections and listeners by
 * connection id, dials services (Connect) and hosts them (Bind). All connections to a router share it.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Channel } from '../channel/channel.js';
import { getUint32, markReply, type Message } from '../channel/message.js';
import { ConnCrypto, E2eeError, newKeyPair, type KxKeyPair } from '../crypto/e2ee.js';
import { ConnectionClosedByRouterError } from '../errors.js';
import { EdgeConn } from './conn.js';
import { BindFailedError, DialFailedError } from './errors.js';
import { EdgeListener, type ListenerHost } from './listener.js';
import {
  bindMessage,
  connectMessage,
  connInspectResponse,
  stateClosedMessage,
  type Precedence,
} from './messages.js';
import { EdgeConnType, EdgeContentType, EdgeHeader, ROUTER_CONN_ID_FLOOR } from './protocol.js';

interface Sink {
  handle(msg: Message): void;
  /** `err` is undefined when the channel was closed on purpose. */
  channelLost(err: Error | undefined): void;
}

/** Holds messages for a connection whose setup is still finishing. */
class PendingSink implements Sink {
  readonly queue: Message[] = [];
  lost: Error | undefined;
  handle(msg: Message): void {
    this.queue.push(msg);
  }
  channelLost(err: Error | undefined): void {
    this.lost = err;
  }
}

export interface DialRequest {
  service: string;
  sessionToken: string;
  encrypted: boolean;
  callerId?: string;
  appData?: Buffer;
  /** Reach only the terminator bound with this identity (instance id). */
  terminatorIdentity?: string;
  timeoutMs: number;
}

export interface BindRequest {
  service: string;
  sessionToken: string;
  /** Present when the service requires end-to-end encryption. */
  keyPair?: KxKeyPair;
  /** Instance id dialers can address this terminator by. */
  terminatorIdentity?: string;
  cost?: number;
  precedence?: Precedence;
  timeoutMs: number;
}

export class EdgeRouter extends EventEmitter<{ close: [Error | undefined] }> implements ListenerHost {
  readonly channel: Channel;
  readonly name: string;
  readonly url: string;
  private readonly sinks = new Map<number, Sink>();
  private nextConnId = 0;

  constructor(channel: Channel, name: string, url: string) {
    super();
    this.channel = channel;
    this.name = name;
    this.url = url;
    channel.on('message', (msg) => this.route(msg));
    channel.once('close', (err) => {
      for (const sink of [...this.sinks.values()]) sink.channelLost(err);
      this.sinks.clear();
      this.emit('close', err);
    });
  }

  get closed(): boolean {
    return this.channel.closed;
  }

  /** Number of live connections and listeners on this router. */
  get connCount(): number {
    return this.sinks.size;
  }

  allocateConnId(): number {
    for (let i = 0; i < 1000; i++) {
      this.nextConnId = this.nextConnId >= ROUTER_CONN_ID_FLOOR - 1 ? 1 : this.nextConnId + 1;
      if (!this.sinks.has(this.nextConnId)) return this.nextConnId;
    }
    throw new DialFailedError('(any)', this.name, 'no free connection id');
  }

  register(connId: number, sink: Sink): void {
    this.sinks.set(connId, sink);
  }

  unregister(connId: number, sink: object): void {
    if (this.sinks.get(connId) === sink) this.sinks.delete(connId);
  }

  close(reason?: Error): void {
    this.channel.close(reason);
  }

  async dial(request: DialRequest): Promise<EdgeConn> {
    const connId = this.allocateConnId();
    const pending = new PendingSink();
    this.register(connId, pending);
    const keyPair = request.encrypted ? await newKeyPair() : undefined;
    const connect = connectMessage(connId, request.sessionToken, {
      publicKey: keyPair?.publicKey,
      callerId: request.callerId,
      appData: request.appData,
      terminatorIdentity: request.terminatorIdentity,
      marker: randomBytes(6).toString('base64url'),
    });
    let reply: Message;
    try {
      reply = await this.channel.request(connect, request.timeoutMs, `dial of service "${request.service}"`);
    } catch (err) {
      this.abandon(connId, pending);
      throw err;
    }
    if (reply.contentType !== EdgeContentType.stateConnected) {
      this.unregister(connId, pending);
      const reason =
        reply.contentType === EdgeContentType.stateClosed
          ? reply.body.toString('utf8') || 'refused without a reason'
          : `unexpected answer of type ${reply.contentType}`;
      throw new DialFailedError(request.service, this.name, reason);
    }
    let crypto: ConnCrypto | undefined;
    if (keyPair) {
      const hostKey = reply.headers.get(EdgeHeader.publicKey);
      try {
        if (hostKey === undefined) throw new E2eeError(`the host of "${request.service}" sent no public key`);
        crypto = await ConnCrypto.create('client', keyPair, hostKey);
      } catch (err) {
        this.abandon(connId, pending);
        throw err;
      }
    }
    const conn = new EdgeConn({
      channel: this.channel,
      routerName: this.name,
      connId,
      service: request.service,
      role: 'dial',
      crypto,
      circuitId: reply.headers.get(EdgeHeader.circuitId)?.toString('utf8'),
      onGone: (gone) => this.unregister(connId, gone),
    });
    await this.adopt(connId, pending, conn);
    return conn;
  }

  async bind(request: BindRequest): Promise<EdgeListener> {
    const connId = this.allocateConnId();
    const listener = new EdgeListener({
      host: this,
      connId,
      service: request.service,
      sessionToken: request.sessionToken,
      keyPair: request.keyPair,
    });
    this.register(connId, listener);
    const bind = bindMessage(connId, request.sessionToken, {
      publicKey: request.keyPair?.publicKey,
      terminatorIdentity: request.terminatorIdentity,
      cost: request.cost,
      precedence: request.precedence,
    });
    let reply: Message;
    try {
      reply = await this.channel.request(bind, request.timeoutMs, `bind of service "${request.service}"`);
    } catch (err) {
      this.unregister(connId, listener);
      throw err;
    }
    if (reply.contentType !== EdgeContentType.stateConnected) {
      this.unregister(connId, listener);
      const reason =
        reply.contentType === EdgeContentType.stateClosed
          ? reply.body.toString('utf8') || 'refused without a reason'
          : `unexpected answer of type ${reply.contentType}`;
      throw new BindFailedError(request.service, this.name, reason);
    }
    return listener;
  }

  /** Hands queued messages to the finished connection and installs it. */
  private async adopt(connId: number, pending: PendingSink, conn: EdgeConn): Promise<void> {
    try {
      await conn.start();
    } catch (err) {
      this.unregister(connId, pending);
      conn.destroy();
      throw err;
    }
    if (this.sinks.get(connId) !== pending) {
      conn.destroy();
      throw pending.lost ?? new ConnectionClosedByRouterError(this.name, 'the channel closed during dial');
    }
    this.register(connId, conn);
    for (const msg of pending.queue) conn.handle(msg);
  }

  private abandon(connId: number, pending: PendingSink): void {
    this.unregister(connId, pending);
    if (!this.channel.closed)
      this.channel.sendBestEffort(
        stateClosedMessage(connId, 1, 'dial abandoned'),
        'close of an abandoned dial',
      );
  }

  private route(msg: Message): void {
    const connId = getUint32(msg.headers, EdgeHeader.connId);
    if (msg.contentType === EdgeContentType.connInspectRequest) {
      this.answerInspect(msg, connId);
      return;
    }
    if (connId === undefined) return;
    this.sinks.get(connId)?.handle(msg);
  }

  private answerInspect(msg: Message, connId: number | undefined): void {
    const sink = connId === undefined ? undefined : this.sinks.get(connId);
    let type = 0;
    let state: object = { id: connId ?? 0, closed: true };
    if (sink instanceof EdgeListener) {
      type = EdgeConnType.bind;
      state = { id: connId, serviceName: sink.service, closed: sink.isClosed, established: sink.established };
    } else if (sink instanceof EdgeConn) {
      type = EdgeConnType.dial;
      state = { id: connId, serviceName: sink.service, closed: sink.destroyed, encrypted: sink.encrypted };
    }
    this.channel.sendBestEffort(
      markReply(connInspectResponse(connId ?? 0, type, state), msg),
      'inspect answer',
    );
  }
}
