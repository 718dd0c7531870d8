/**
 * Serves one loop's runner over the per-loop protocol: any number of watchers, one writer lease, attached
 * clients fed from the output log. Handlers live one group per file; this file holds the shared state.
 */
import type { Duplex } from 'node:stream';
import type { RpcConnection } from '../../protocol/connection.js';
import type { HandlerTable } from '../../protocol/dispatch.js';
import { makeEvent } from '../../protocol/event-method.js';
import { attachFramingSwitch } from '../../protocol/framing-switch.js';
import { serveConnection } from '../../protocol/serve.js';
import type { Peer } from '../../transport/stream.js';
import type { LoopRunner } from '../runner.js';
import { AttachFeed } from './attach-feed.js';
import { attachHandlers } from './attach.js';
import { controlHandlers } from './control.js';
import { interactiveHandlers, terminalInput } from './interactive.js';
import { logHandlers } from './logs.js';
import { guardRestricted, restrictHandlers } from './restrict.js';
import { statusHandlers } from './status.js';
import { subscribeHandlers } from './subscribe.js';
import { transcriptHandlers } from './transcript.js';
import { toWireChange, toWireIteration } from './wire.js';

export interface LoopServerOptions {
  log?: (line: string) => void;
  maxQueuedBytes?: number;
  /** Check every result against the method table (tests turn it on). */
  validateResults?: boolean;
}

export class LoopServer {
  readonly runner: LoopRunner;
  readonly connections = new Set<RpcConnection>();
  readonly feed: AttachFeed;
  /** The connection holding the writer lease, if any. */
  writer: RpcConnection | null = null;
  private readonly streams = new Map<RpcConnection, Duplex>();
  private readonly handlers: HandlerTable;
  private readonly options: LoopServerOptions;

  constructor(runner: LoopRunner, options: LoopServerOptions = {}) {
    this.runner = runner;
    this.options = options;
    this.feed = new AttachFeed(runner.log);
    this.handlers = guardRestricted({
      ...statusHandlers(this),
      ...controlHandlers(this),
      ...interactiveHandlers(this),
      ...attachHandlers(this),
      ...logHandlers(this),
      ...subscribeHandlers(this),
      ...transcriptHandlers(this),
      ...restrictHandlers(this),
    });
    runner.on('state', (changed) => {
      const wire = toWireChange(changed);
      if (Object.keys(wire).length > 0) this.broadcast('state_change', wire);
    });
    runner.on('iteration', (record) => this.broadcast('iteration', toWireIteration(record)));
    runner.on('pty', (offset, chunk) => this.feed.live(offset, chunk));
  }

  accept(stream: Duplex, label: string, peer?: Peer): RpcConnection {
    const conn = serveConnection(stream, this.handlers, {
      label,
      ...(peer === undefined ? {} : { peer }),
      logger: (msg) => this.options.log?.(msg),
      framingSwitch: attachFramingSwitch,
      validateResults: this.options.validateResults === true,
      onTerminalInput: (data, from) => terminalInput(this, data, from),
      ...(this.options.maxQueuedBytes === undefined ? {} : { maxQueuedBytes: this.options.maxQueuedBytes }),
    });
    this.connections.add(conn);
    this.streams.set(conn, stream);
    stream.once('close', () => this.streams.delete(conn));
    conn.on('close', (reason) => {
      this.connections.delete(conn);
      this.subscriptionsChanged();
      this.feed.detach(conn);
      this.releaseLease(conn, reason);
    });
    return conn;
  }

  /** Frees the writer lease if `conn` holds it; interactive mode ends with it. */
  releaseLease(conn: RpcConnection, why: string): void {
    if (this.writer !== conn) return;
    this.writer = null;
    if (!this.runner.ended) this.runner.setInteractive(false);
    this.options.log?.(`writer ${conn.name} released the keyboard (${why}); interactive mode off`);
  }

  /** Called when a connection's subscriptions change or it leaves: lines are split only while wanted. */
  subscriptionsChanged(): void {
    let want = false;
    for (const conn of this.connections) want ||= conn.wants('output');
    const listening = this.runner.listeners('line').includes(this.onLine);
    if (want && !listening) this.runner.on('line', this.onLine);
    if (!want && listening) this.runner.off('line', this.onLine);
  }

  private readonly onLine = (line: string): void => this.broadcast('output', { line });

  private broadcast(type: 'output' | 'state_change' | 'iteration', data: object): void {
    let event: ReturnType<typeof makeEvent> | null = null;
    for (const conn of this.connections) {
      if (!conn.wants(type)) continue;
      event ??= makeEvent(type, data as never);
      conn.notify(event);
    }
  }

  /**
   * Tells every client the loop is over and closes their connections, after attached readers have been sent
   * the rest of the log (waiting at most `flushTimeoutMs` for readers that fell behind).
   */
  async close(reason: string, flushTimeoutMs = 5_000): Promise<void> {
    this.feed.pumpAll();
    await this.feed.caughtUp(flushTimeoutMs);
    const open = [...this.connections];
    // Wait for each stream to close, not just the connection: queued output must reach the client before
    // the listener tears its sockets down (a client that never reads is cut off after the close grace).
    await Promise.all(
      open.map(
        (conn) =>
          new Promise<void>((resolve) => {
            const stream = this.streams.get(conn);
            if (stream === undefined) return resolve();
            const timer = setTimeout(() => stream.destroy(), flushTimeoutMs);
            stream.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            conn.close(reason);
          }),
      ),
    );
  }
}
