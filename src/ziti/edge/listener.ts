/**
 * The hosting side of one Bind on one edge router. The router forwards each client's dial as a Dial message
 * addressed to the listener's connection id; the listener answers DialSuccess (or DialFailed), sets up the
 * new connection (and its encryption) and emits it.
 */
import { EventEmitter } from 'node:events';
import type { Channel } from '../channel/channel.js';
import { getString, getUint32, markReply, type Message } from '../channel/message.js';
import { ConnCrypto, type KxKeyPair } from '../crypto/e2ee.js';
import { ConnectionClosedByRouterError } from '../errors.js';
import { EdgeConn } from './conn.js';
import { dialFailedMessage, dialSuccessMessage, stateClosedMessage, unbindMessage } from './messages.js';
import { EdgeContentType, EdgeHeader } from './protocol.js';

export interface ListenerHost {
  readonly channel: Channel;
  readonly name: string;
  /** Registers a connection (or listener) under its id so messages reach it. */
  register(
    connId: number,
    sink: { handle(msg: Message): void; channelLost(err: Error | undefined): void },
  ): void;
  /** Forgets an id, if it still belongs to `sink`. */
  unregister(connId: number, sink: object): void;
  /** An id for a connection when the router does not assign one. */
  allocateConnId(): number;
}

export interface EdgeListenerEvents {
  connection: [EdgeConn];
  established: [];
  /** The router ended the bind (err) or we closed it (undefined). */
  close: [Error | undefined];
  /** A client's dial could not be completed; the listener keeps serving. */
  dialError: [Error];
}

export interface EdgeListenerOptions {
  host: ListenerHost;
  connId: number;
  service: string;
  sessionToken: string;
  keyPair?: KxKeyPair;
}

export class EdgeListener extends EventEmitter<EdgeListenerEvents> {
  readonly connId: number;
  readonly service: string;
  readonly sessionToken: string;
  /** True once the router reported the terminator as created (BindSuccess). */
  established = false;
  private readonly host: ListenerHost;
  private readonly keyPair: KxKeyPair | undefined;
  private closed = false;
  private seq = 0;

  constructor(options: EdgeListenerOptions) {
    super();
    this.host = options.host;
    this.connId = options.connId;
    this.service = options.service;
    this.sessionToken = options.sessionToken;
    this.keyPair = options.keyPair;
  }

  get routerName(): string {
    return this.host.name;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  handle(msg: Message): void {
    if (this.closed) return;
    switch (msg.contentType) {
      case EdgeContentType.dial:
        this.acceptDial(msg).catch((err: unknown) => this.emit('dialError', err as Error));
        break;
      case EdgeContentType.bindSuccess:
        this.established = true;
        this.emit('established');
        break;
      case EdgeContentType.stateClosed:
        this.finish(
          new ConnectionClosedByRouterError(
            this.host.name,
            msg.body.toString('utf8') || 'the bind was ended',
          ),
        );
        break;
    }
  }

  channelLost(err: Error | undefined): void {
    this.finish(err);
  }

  /**
   * Ends the bind at the router (Unbind, then StateClosed), like the reference SDKs do. `reason`: why, when it
   * is not the owner's choice (reported on 'close' as an ended bind, which a server replaces).
   */
  async close(reason?: Error): Promise<void> {
    if (this.closed) return;
    this.finish(reason);
    if (this.host.channel.closed) return;
    this.seq += 1;
    await Promise.allSettled([
      this.host.channel.send(unbindMessage(this.connId, this.sessionToken)),
      this.host.channel.send(stateClosedMessage(this.connId, this.seq, '')),
    ]);
  }

  /** Gives up on a bind whose close stalled: ends it here and destroys the channel that carries it. */
  abort(reason: Error): void {
    this.finish(undefined);
    this.host.channel.close(reason);
  }

  private finish(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.host.unregister(this.connId, this);
    this.emit('close', err);
  }

  private async refuse(request: Message, reason: string): Promise<void> {
    await this.host.channel.send(markReply(dialFailedMessage(this.connId, reason), request));
  }

  private async acceptDial(request: Message): Promise<void> {
    const channel = this.host.channel;
    if (request.body.toString('utf8') !== this.sessionToken) {
      await this.refuse(request, 'invalid token');
      return;
    }
    const routerConnId = getUint32(request.headers, EdgeHeader.routerProvidedConnId);
    const connId = routerConnId ?? this.host.allocateConnId();
    let crypto: ConnCrypto | undefined;
    if (this.keyPair) {
      const peerKey = request.headers.get(EdgeHeader.publicKey);
      if (peerKey === undefined) {
        await this.refuse(request, 'the service requires end-to-end encryption but the dialer sent no key');
        return;
      }
      try {
        crypto = await ConnCrypto.create('server', this.keyPair, peerKey);
      } catch (err) {
        await this.refuse(request, `failed to establish crypto session (${(err as Error).message})`);
        throw err;
      }
    }
    const conn = new EdgeConn({
      channel,
      routerName: this.host.name,
      connId,
      service: this.service,
      role: 'host',
      crypto,
      callerId: getString(request.headers, EdgeHeader.callerId),
      dialerIdentityId: getString(request.headers, EdgeHeader.dialerIdentityId),
      dialerIdentityName: getString(request.headers, EdgeHeader.dialerIdentityName),
      circuitId: getString(request.headers, EdgeHeader.circuitId),
      appData: request.headers.get(EdgeHeader.appData),
      onGone: (gone) => this.host.unregister(connId, gone),
    });
    this.host.register(connId, conn);
    const success = markReply(dialSuccessMessage(this.connId, connId), request);
    try {
      if (routerConnId !== undefined) {
        await channel.send(success);
      } else {
        const started = await channel.request(success, 5_000, 'dial success');
        if (started.contentType !== EdgeContentType.stateConnected) {
          throw new ConnectionClosedByRouterError(this.host.name, 'the router did not start the connection');
        }
      }
      await conn.start();
    } catch (err) {
      conn.destroy();
      throw err;
    }
    if (this.closed) {
      conn.destroy();
      return;
    }
    this.emit('connection', conn);
  }
}
