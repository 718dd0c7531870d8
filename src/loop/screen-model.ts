/**
 * The runner's view of its rendered screen: in a worker thread when the compiled worker is there (always in
 * a built install), otherwise in this thread (when running from TypeScript sources, as under the tests).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Screen, type ScreenSnapshot } from './screen.js';

export type ScreenRequest =
  | { type: 'write'; data: Uint8Array }
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

export function createScreenModel(cols: number, rows: number): ScreenModel {
  return existsSync(WORKER_FILE) ? new WorkerScreen(cols, rows) : new LocalScreen(cols, rows);
}

class LocalScreen implements ScreenModel {
  private readonly screen: Screen;
  constructor(cols: number, rows: number) {
    this.screen = new Screen(cols, rows);
  }
  write(chunk: Buffer): void {
    this.screen.write(chunk);
  }
  resize(cols: number, rows: number): void {
    this.screen.resize(cols, rows);
  }
  async snapshot(scrollback = 0): Promise<ScreenSnapshot> {
    await this.screen.flush();
    return this.screen.snapshot(scrollback);
  }
  dispose(): void {
    this.screen.dispose();
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
   * Output gathers here and goes to the worker in one message per FLUSH_DELAY_MS (or per FLUSH_BYTES). Only
   * `snapshot` reads the screen, and it flushes first; the delay keeps the worker's parsing out of the moment
   * a keystroke's echo is on its way to attached clients, and batches a burst of small chunks.
   */
  write(chunk: Buffer): void {
    if (this.failed) return;
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes >= FLUSH_BYTES) this.flush();
    else this.flushTimer ??= setTimeout(this.flush, FLUSH_DELAY_MS).unref();
  }

  private readonly flush = (): void => {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.queued.length === 0 || this.failed) return;
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
    const { cols, rows } = this.size;
    return { cols, rows, cursor: { x: 0, y: 0 }, lines: Array.from({ length: rows }, () => ''), history: [] };
  }
}
