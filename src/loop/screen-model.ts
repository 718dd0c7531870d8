/**
 * The runner's view of its rendered screen: in a worker thread when the compiled worker is there (always in
 * a built install), otherwise in this thread (when running from TypeScript sources, as under the tests).
 *
 * Most loops are never peeked at, so a runner given its output log starts the model only when it is first
 * needed: at the first snapshot, or once the output passes START_AFTER_BYTES (so that a first snapshot never
 * has more than that to catch up on). Starting replays the log from where this runner began, with each resize
 * at the offset it happened, so the screen is the one a model fed from the start would show. A worker reads
 * the log itself, from that start on; the runner's thread only tells it how far the log goes. The terminal
 * emulator itself is never loaded into the runner's own thread when the worker does the parsing.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Screen, ScreenSnapshot } from './screen.js';

export type ScreenRequest =
  | { type: 'write'; data: Uint8Array }
  /** From now on the output comes from this file, starting at `from`. */
  | { type: 'follow'; file: string; from: number }
  /** The followed file has grown to `end`: parse up to there. */
  | { type: 'grow'; end: number }
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'snapshot'; id: number; scrollback: number }
  | { type: 'dispose' };

export interface ScreenModel {
  write(chunk: Buffer): void;
  resize(cols: number, rows: number): void;
  snapshot(scrollback?: number): Promise<ScreenSnapshot>;
  dispose(): void;
}

/** Output waits at most this long, or until this much has gathered, before it goes to the worker. */
const FLUSH_DELAY_MS = 10;
const FLUSH_BYTES = 64 * 1024;

const WORKER_FILE = fileURLToPath(new URL('./screen-worker.js', import.meta.url));

/** Output past this, with nobody having looked yet, starts the model anyway. */
export const START_AFTER_BYTES = 4 * 1024 * 1024;

/** Where a lazily started model catches up from: the runner's output log. */
export interface ScreenSource {
  readonly end: number;
  read(offset: number, limit: number): Buffer;
  /** The log's path: a worker given it reads the output there itself, so none is copied to it. */
  readonly file?: string;
}

export interface ScreenModelOptions {
  /** Start lazily and catch up from this log (its bytes from now on are the ones the model is written). */
  source?: ScreenSource;
  /** Output that starts a lazy model without a snapshot (default START_AFTER_BYTES). */
  startAfterBytes?: number;
}

export function createScreenModel(cols: number, rows: number, options: ScreenModelOptions = {}): ScreenModel {
  const worker = existsSync(WORKER_FILE);
  const create = (c: number, r: number): ScreenModel =>
    worker ? new WorkerScreen(c, r) : new LocalScreen(c, r);
  if (options.source === undefined) return create(cols, rows);
  const { source } = options;
  const file = source.file;
  const start: Starter =
    worker && file !== undefined
      ? (base, resizes) => WorkerScreen.following(cols, rows, source, file, base, resizes)
      : (base, resizes) => replay(create(cols, rows), source, base, resizes);
  return new LazyScreen(cols, rows, source, start, options.startAfterBytes ?? START_AFTER_BYTES);
}

interface Resize {
  at: number;
  cols: number;
  rows: number;
}

/** Starts a model that shows the source's output from `base` on, with each resize at its offset. */
type Starter = (base: number, resizes: readonly Resize[]) => ScreenModel;

/** Replays are read from the log in pieces of this size. */
const REPLAY_CHUNK = 256 * 1024;

/** Feeds `inner` the source's bytes from `base`, applying each resize where it happened. */
function replay(
  inner: ScreenModel,
  source: ScreenSource,
  base: number,
  resizes: readonly Resize[],
): ScreenModel {
  let at = base;
  const upTo = (offset: number): void => {
    while (at < offset) {
      const chunk = source.read(at, Math.min(REPLAY_CHUNK, offset - at));
      if (chunk.length === 0) return;
      inner.write(chunk);
      at += chunk.length;
    }
  };
  for (const change of resizes) {
    upTo(change.at);
    inner.resize(change.cols, change.rows);
  }
  upTo(source.end);
  return inner;
}

class LazyScreen implements ScreenModel {
  private inner: ScreenModel | null = null;
  private readonly base: number;
  private readonly resizes: Resize[] = [];
  private size: { cols: number; rows: number };
  private disposed = false;

  constructor(
    cols: number,
    rows: number,
    private readonly source: ScreenSource,
    private readonly starter: Starter,
    private readonly startAfterBytes: number,
  ) {
    this.base = source.end;
    this.size = { cols, rows };
  }

  /** Whether the model runs (for tests and measurements). */
  get started(): boolean {
    return this.inner !== null;
  }

  write(chunk: Buffer): void {
    if (this.inner !== null) this.inner.write(chunk);
    // The chunk is in the log already: a start now replays it with everything before it.
    else if (this.source.end - this.base >= this.startAfterBytes) this.start();
  }

  resize(cols: number, rows: number): void {
    this.size = { cols, rows };
    if (this.inner !== null) this.inner.resize(cols, rows);
    else this.resizes.push({ at: this.source.end, cols, rows });
  }

  snapshot(scrollback = 0): Promise<ScreenSnapshot> {
    if (this.disposed && this.inner === null) return Promise.resolve(blank(this.size.cols, this.size.rows));
    return this.start().snapshot(scrollback);
  }

  dispose(): void {
    this.disposed = true;
    this.inner?.dispose();
  }

  private start(): ScreenModel {
    if (this.inner !== null) return this.inner;
    const inner = this.starter(this.base, this.resizes);
    this.resizes.length = 0;
    this.inner = inner;
    if (this.disposed) inner.dispose();
    return inner;
  }
}

function blank(cols: number, rows: number): ScreenSnapshot {
  return { cols, rows, cursor: { x: 0, y: 0 }, lines: Array.from({ length: rows }, () => ''), history: [] };
}

/** In this thread; the terminal emulator is loaded on first use, and calls made meanwhile wait their turn. */
class LocalScreen implements ScreenModel {
  private screen: Screen | null = null;
  private queued: ((screen: Screen) => void)[] = [];
  private readonly ready: Promise<Screen>;

  constructor(cols: number, rows: number) {
    this.ready = import('./screen.js').then(({ Screen }) => {
      const screen = new Screen(cols, rows);
      for (const op of this.queued) op(screen);
      this.queued = [];
      this.screen = screen;
      return screen;
    });
  }

  private run(op: (screen: Screen) => void): void {
    if (this.screen !== null) op(this.screen);
    else this.queued.push(op);
  }

  write(chunk: Buffer): void {
    this.run((screen) => screen.write(chunk));
  }
  resize(cols: number, rows: number): void {
    this.run((screen) => screen.resize(cols, rows));
  }
  async snapshot(scrollback = 0): Promise<ScreenSnapshot> {
    const screen = await this.ready;
    await screen.flush();
    return screen.snapshot(scrollback);
  }
  dispose(): void {
    this.run((screen) => screen.dispose());
  }
}

class WorkerScreen implements ScreenModel {
  private readonly worker: Worker;
  private readonly pending = new Map<number, (s: ScreenSnapshot) => void>();
  private nextId = 0;
  private size: { cols: number; rows: number };
  private failed: Error | null = null;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  /** When following the output log: the log, and how far the worker has been told it goes. */
  private follow: { source: ScreenSource; told: number } | null = null;

  constructor(cols: number, rows: number) {
    this.size = { cols, rows };
    this.worker = new Worker(WORKER_FILE, { workerData: { cols, rows } });
    this.worker.unref();
    this.worker.on('message', (msg: { id: number; snapshot: ScreenSnapshot }) => {
      this.pending.get(msg.id)?.(msg.snapshot);
      this.pending.delete(msg.id);
    });
    this.worker.on('error', (err) => {
      this.failed = err;
      this.settleAll();
    });
    this.worker.on('exit', () => this.settleAll());
  }

  /**
   * A worker that reads the output from the log file itself, from `base` on: this thread only tells it how far
   * the log has grown (in one small message per FLUSH_DELAY_MS or FLUSH_BYTES), and copies nothing.
   */
  static following(
    cols: number,
    rows: number,
    source: ScreenSource,
    file: string,
    base: number,
    resizes: readonly Resize[],
  ): WorkerScreen {
    const screen = new WorkerScreen(cols, rows);
    screen.follow = { source, told: base };
    screen.post({ type: 'follow', file, from: base });
    for (const change of resizes) {
      screen.tell(change.at);
      screen.size = { cols: change.cols, rows: change.rows };
      screen.post({ type: 'resize', cols: change.cols, rows: change.rows });
    }
    screen.tell(source.end);
    return screen;
  }

  /**
   * Output gathers here and goes to the worker in one message per FLUSH_DELAY_MS (or per FLUSH_BYTES). Only
   * `snapshot` reads the screen, and it flushes first; the delay keeps the worker's parsing out of the moment
   * a keystroke's echo is on its way to attached clients, and batches a burst of small chunks.
   */
  write(chunk: Buffer): void {
    if (this.failed) return;
    if (this.follow !== null) {
      // The chunk is in the log already; the worker reads it there.
      if (this.follow.source.end - this.follow.told >= FLUSH_BYTES) this.flush();
      else this.flushTimer ??= setTimeout(this.flush, FLUSH_DELAY_MS).unref();
      return;
    }
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes >= FLUSH_BYTES) this.flush();
    else this.flushTimer ??= setTimeout(this.flush, FLUSH_DELAY_MS).unref();
  }

  private readonly flush = (): void => {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.failed) return;
    if (this.follow !== null) {
      this.tell(this.follow.source.end);
      return;
    }
    if (this.queued.length === 0) return;
    // One exact-size copy, moved rather than cloned: a chunk may be a view into a much larger buffer.
    const data = new Uint8Array(this.queuedBytes);
    let at = 0;
    for (const chunk of this.queued) {
      data.set(chunk, at);
      at += chunk.length;
    }
    this.queued = [];
    this.queuedBytes = 0;
    this.worker.postMessage({ type: 'write', data } satisfies ScreenRequest, [data.buffer]);
  };

  /** Tells a following worker the log reaches `end`. */
  private tell(end: number): void {
    if (this.follow === null || end <= this.follow.told) return;
    this.follow.told = end;
    this.post({ type: 'grow', end });
  }

  resize(cols: number, rows: number): void {
    this.size = { cols, rows };
    this.flush();
    if (!this.failed) this.post({ type: 'resize', cols, rows });
  }

  snapshot(scrollback = 0): Promise<ScreenSnapshot> {
    if (this.failed) return Promise.resolve(this.blank());
    this.flush();
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.post({ type: 'snapshot', id, scrollback });
    });
  }

  dispose(): void {
    this.flush();
    this.post({ type: 'dispose' });
  }

  private post(msg: ScreenRequest): void {
    this.worker.postMessage(msg);
  }

  /** A worker that died leaves a blank screen rather than a hung `peek`. */
  private settleAll(): void {
    for (const resolve of this.pending.values()) resolve(this.blank());
    this.pending.clear();
  }

  private blank(): ScreenSnapshot {
    return blank(this.size.cols, this.size.rows);
  }
}
