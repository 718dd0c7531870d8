/**
 * A peer that speaks the protocol by hand over a real socket: NDJSON lines, then binary frames once a
 * request for them has succeeded. It records every message and every terminal byte it receives.
 */
import type { Duplex } from 'node:stream';
import { FRAME_MESSAGE, FRAME_TERMINAL, FrameDecoder, encodeFrame } from '../../src/protocol/frames.js';
import { LineDecoder } from '../../src/protocol/framing.js';
import { waitFor } from './wait.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Msg = any;

export class FramedPeer {
  readonly messages: Msg[] = [];
  readonly terminal: Buffer[] = [];
  /** Frames of a type other than terminal or message. */
  readonly strange: number[] = [];
  ended = false;
  private readonly lines: LineDecoder;
  private frames: FrameDecoder | null = null;
  private switchId: number | null = null;

  constructor(readonly socket: Duplex) {
    this.lines = new LineDecoder({ maxLineBytes: 64 * 1024 * 1024, onLine: (line) => this.onLine(line) });
    socket.on('data', (chunk: Buffer) => {
      if (this.frames) return this.frames.push(chunk);
      this.lines.push(chunk);
      const frames = this.frames as FrameDecoder | null;
      if (frames) for (const rest of this.lines.release()) frames.push(rest);
    });
    socket.on('end', () => (this.ended = true));
    socket.on('close', () => (this.ended = true));
  }

  get framed(): boolean {
    return this.frames !== null;
  }

  /** Sends `attach` asking for binary frames, with `after` written right behind it (before any answer). */
  requestFrames(id: number, params: object = {}, after: Buffer = Buffer.alloc(0)): void {
    this.switchId = id;
    const line = JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'attach',
      params: { framing: 'binary', ...params },
    });
    this.socket.write(Buffer.concat([Buffer.from(line + '\n'), after]));
  }

  /** Sends one message, as a line or (once switched) as a message frame. */
  send(message: object): void {
    const json = JSON.stringify(message);
    this.socket.write(this.frames ? encodeFrame(FRAME_MESSAGE, json) : json + '\n');
  }

  sendFrame(type: number, payload: Buffer | string): void {
    this.socket.write(encodeFrame(type, payload));
  }

  /** The next message received; fails naming `what` if none comes in time. */
  next(what = 'a message', timeoutMs = 10_000): Promise<Msg> {
    return waitFor((): unknown => this.messages.shift(), what, timeoutMs) as Promise<Msg>;
  }

  /** The next message that is not an event. */
  async reply(what = 'a reply', timeoutMs = 10_000): Promise<Msg> {
    for (;;) {
      const msg = await this.next(what, timeoutMs);
      if (msg.method !== 'event') return msg;
    }
  }

  /** Every terminal byte received so far. */
  bytes(): Buffer {
    return Buffer.concat(this.terminal);
  }

  private onLine(line: string): void {
    const msg: Msg = JSON.parse(line);
    this.messages.push(msg);
    if (this.switchId !== null && msg.id === this.switchId) {
      this.switchId = null;
      if (!('result' in msg)) return;
      this.lines.pause();
      this.frames = new FrameDecoder({
        maxFrameBytes: 64 * 1024 * 1024,
        onFrame: (type, payload) => {
          if (type === FRAME_TERMINAL) this.terminal.push(Buffer.from(payload));
          else if (type === FRAME_MESSAGE) this.messages.push(JSON.parse(payload.toString('utf8')));
          else this.strange.push(type);
        },
      });
    }
  }
}
