/**
 * The framing of one connection's input and output: NDJSON lines, then binary frames once a switch was
 * asked for and granted. It turns bytes into messages (text), terminal input and framing faults, and
 * encodes outgoing messages for the framing in force. It knows nothing of JSON-RPC or of which message asks
 * for the switch; the connection tells it (`hold`, then `settle`).
 */
import { LineDecoder } from './framing.js';
import { FRAME_MESSAGE, FRAME_TERMINAL, FrameDecoder, messageFrame } from './frames.js';
import type { Framing } from './frames.js';

export interface MessageFramingEvents {
  /** One message as text (a line without its newline, or a message frame's payload). */
  onMessage(text: string): void;
  /** Raw terminal bytes from a terminal frame. */
  onTerminal(data: Buffer): void;
  /** A frame of a type this side does not know; it was skipped. */
  onUnknownFrame(type: number): void;
  /** A line or frame over the limit; it was skipped and decoding goes on after it. */
  onOversize(what: 'line' | 'frame', bytes: number): void;
  /** The input ended in the middle of a line or frame; those bytes were discarded. */
  onTruncated(what: 'line' | 'frame', bytes: number): void;
}

export class MessageFraming {
  /** Longest line or frame payload accepted. */
  readonly maxBytes: number;
  private readonly events: MessageFramingEvents;
  private readonly lines: LineDecoder;
  private frames: FrameDecoder | null = null;
  /** Input is paused because the reader asked (`pause()`), e.g. while its client has too much in flight. */
  private paused = false;
  /** Input is held behind a message that asked for a framing switch, until `settle()`. */
  private holding = false;
  private ended = false;

  constructor(events: MessageFramingEvents, maxBytes?: number) {
    this.events = events;
    this.lines = new LineDecoder({
      maxLineBytes: maxBytes,
      onLine: (line) => events.onMessage(line),
      onOversize: (bytes) => events.onOversize('line', bytes),
      onTruncated: (bytes) => events.onTruncated('line', bytes),
    });
    this.maxBytes = this.lines.maxLineBytes;
  }

  get framing(): Framing {
    return this.frames === null ? 'ndjson' : 'binary';
  }

  /** True between `hold()` and `settle()`. */
  get switching(): boolean {
    return this.holding;
  }

  push(chunk: Buffer): void {
    this.decoder().push(chunk);
  }

  end(): void {
    this.ended = true;
    this.lines.end();
    this.frames?.end();
  }

  /** Stops decoding after the current message (call it from `onMessage`) until `resume()`. */
  pause(): void {
    this.paused = true;
    this.decoder().pause();
  }

  resume(): void {
    this.paused = false;
    if (!this.holding) this.decoder().resume();
  }

  /**
   * The current message (call it from `onMessage`) asked to switch to binary frames: what follows is held,
   * undecoded, until `settle()`.
   */
  hold(): void {
    if (this.frames !== null || this.holding) return;
    this.holding = true;
    this.lines.pause();
  }

  /** The answer to the held message has been sent: switch to frames if it succeeded, else go on with lines. */
  settle(switched: boolean): void {
    if (!this.holding) return;
    this.holding = false;
    if (!switched) {
      if (!this.paused) this.lines.resume();
      return;
    }
    const frames = new FrameDecoder({
      maxFrameBytes: this.maxBytes,
      onFrame: (type, payload) => this.onFrame(type, payload),
      onOversize: (_type, bytes) => this.events.onOversize('frame', bytes),
      onTruncated: (bytes) => this.events.onTruncated('frame', bytes),
    });
    this.frames = frames;
    if (this.paused) frames.pause();
    for (const chunk of this.lines.release()) frames.push(chunk);
    if (this.ended) frames.end();
  }

  /**
   * Ends decoding for good and returns the bytes held since `hold()`, undecoded, for whoever takes the
   * byte stream over (see `HandOver` in serve.ts).
   */
  release(): Buffer[] {
    this.ended = true;
    this.holding = false;
    return this.frames === null ? this.lines.release() : [];
  }

  /** One outgoing message (an NDJSON line ending in `\n`) as this framing sends it. */
  encode(line: string): string | Buffer {
    return this.frames === null ? line : messageFrame(line);
  }

  private decoder(): LineDecoder | FrameDecoder {
    return this.frames ?? this.lines;
  }

  private onFrame(type: number, payload: Buffer): void {
    if (type === FRAME_MESSAGE) this.events.onMessage(payload.toString('utf8'));
    else if (type === FRAME_TERMINAL) this.events.onTerminal(payload);
    else this.events.onUnknownFrame(type);
  }
}
