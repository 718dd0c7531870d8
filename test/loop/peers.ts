/** Clients for loop tests: a typed client that records what it receives, and a peer that speaks raw bytes. */
import type { Socket } from 'node:net';
import { LineDecoder, RpcClient, type WireEvent } from '../../src/protocol/index.js';
import { dialUnix } from '../../src/transport/unix.js';
import type { Sandbox } from './helpers.js';
import { waitFor } from '../support/wait.js';

/** A client that records every event: output lines, state changes, and the pty byte stream with its faults. */
export class Watcher {
  readonly events: WireEvent[] = [];
  readonly lines: string[] = [];
  readonly states: Record<string, unknown>[] = [];
  /** Gaps and overlaps seen in the pty stream (there must be none). */
  readonly faults: string[] = [];
  firstOffset: number | null = null;
  nextOffset: number | null = null;
  closed: string | null = null;
  private readonly chunks: Buffer[] = [];

  constructor(readonly client: RpcClient) {
    client.onEvent((event) => this.record(event));
    client.on('close', (reason) => (this.closed = reason));
  }

  static async open(sb: Sandbox, socketPath: string): Promise<Watcher> {
    const client = new RpcClient(await dialUnix(socketPath), { defaultTimeoutMs: 10_000 });
    sb.defer(() => client.close());
    return new Watcher(client);
  }

  /** The pty bytes received, from `firstOffset` on. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  text(): string {
    return this.bytes().toString('utf8');
  }

  until(check: (w: this) => boolean, what: string, timeoutMs = 15_000): Promise<true> {
    return waitFor(() => check(this), what, timeoutMs);
  }

  private record(event: WireEvent): void {
    this.events.push(event);
    const data = event.data as Record<string, unknown>;
    if (event.type === 'output') this.lines.push(data.line as string);
    if (event.type === 'state_change') this.states.push(data);
    if (event.type !== 'pty') return;
    const offset = data.offset as number;
    const bytes = Buffer.from(data.data as string, 'base64');
    this.firstOffset ??= offset;
    if (this.nextOffset !== null && offset !== this.nextOffset) {
      this.faults.push(`expected offset ${this.nextOffset}, got ${offset}`);
    }
    this.chunks.push(bytes);
    this.nextOffset = offset + bytes.length;
  }
}

/** A peer speaking raw bytes to a socket and reading parsed NDJSON replies. */
export class RawPeer {
  private readonly queue: Record<string, unknown>[] = [];

  private constructor(readonly socket: Socket) {
    const decoder = new LineDecoder({
      maxLineBytes: 64 * 1024 * 1024,
      onLine: (line) => this.queue.push(JSON.parse(line) as Record<string, unknown>),
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  }

  static async open(sb: Sandbox, socketPath: string): Promise<RawPeer> {
    const peer = new RawPeer(await dialUnix(socketPath));
    sb.defer(() => peer.socket.destroy());
    return peer;
  }

  /** Writes `text` and returns the next reply. */
  async ask(text: string | Buffer): Promise<Record<string, unknown>> {
    this.socket.write(text);
    return waitFor(() => this.queue.shift(), 'a reply from the loop', 10_000);
  }
}
