/**
 * One agent process in a PTY. node-pty makes the child a session leader, so its pid is also its process group
 * and signals reach everything the agent started.
 */
import { EventEmitter } from 'node:events';
import { readSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import type * as Pty from 'node-pty';
import { OutputBatch } from './output-batch.js';

/**
 * node-pty is CommonJS. Loaded with `require` rather than `import`, a runner (an ES module) does not start
 * Node's CommonJS export scanner, a WebAssembly module of its own, to read node-pty's exports: memory every
 * runner would keep.
 */
const pty = createRequire(import.meta.url)('node-pty') as typeof Pty;

export interface AgentSpawn {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  cols: number;
  rows: number;
}

export interface AgentExit {
  exitCode: number | null;
  signal: string | null;
}

interface AgentProcessEvents {
  data: [Buffer];
  exit: [AgentExit];
}

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(constants.signals as Record<string, number>).map(([name, num]) => [num, name]),
);

/** Output quiet this long after exit means the PTY has nothing more to give. */
const EXIT_QUIET_MS = 30;
const EXIT_DRAIN_MAX_MS = 1000;

export class AgentProcess extends EventEmitter<AgentProcessEvents> {
  readonly pid: number;
  private readonly term: Pty.IPty;
  private exited = false;
  private lastDataAt = 0;
  private readonly batch = new OutputBatch((chunk) => this.emit('data', chunk));

  constructor(spec: AgentSpawn) {
    super();
    this.term = pty.spawn(spec.file, spec.args, {
      name: 'xterm-256color',
      cols: spec.cols,
      rows: spec.rows,
      cwd: spec.cwd,
      env: spec.env,
      encoding: null,
    });
    this.pid = this.term.pid;
    drainBeforeClose(this.term, (chunk) => {
      this.batch.push(chunk);
      this.batch.flush();
    });
    this.term.onData((chunk) => {
      this.lastDataAt = Date.now();
      this.batch.push(chunk as unknown as Buffer);
    });
    this.term.onExit(({ exitCode, signal }) => {
      this.exited = true;
      const name = signal ? (SIGNAL_NAMES.get(signal) ?? String(signal)) : null;
      // The PTY can still hand over output after the exit is reported; wait for a short quiet spell so the
      // iteration's last bytes land in the log before it is judged.
      this.afterQuiet(() => {
        this.batch.flush();
        this.emit('exit', { exitCode: name ? null : exitCode, signal: name });
      });
    });
  }

  private afterQuiet(done: () => void, deadline = Date.now() + EXIT_DRAIN_MAX_MS): void {
    const quietFor = Date.now() - this.lastDataAt;
    if (quietFor >= EXIT_QUIET_MS || Date.now() >= deadline) return done();
    setTimeout(() => this.afterQuiet(done, deadline), EXIT_QUIET_MS - quietFor);
  }

  get running(): boolean {
    return !this.exited;
  }

  /**
   * Writes keystrokes. node-pty queues every write through the thread pool; while its queue is empty the
   * bytes go to the PTY at once instead, which takes a thread hop off every keystroke's round trip. What the
   * kernel does not take (a large paste) goes through node-pty's queue, in order.
   */
  write(data: string | Buffer): void {
    if (this.exited) return;
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const internals = this.term as unknown as { _writeStream?: { _writeQueue?: unknown[] }; fd?: number };
    const queue = internals._writeStream?._writeQueue;
    const fd = internals.fd;
    let written = 0;
    if (Array.isArray(queue) && queue.length === 0 && typeof fd === 'number') {
      try {
        written = writeSync(fd, buf);
      } catch (err) {
        // EAGAIN: the PTY's input buffer is full; the queue below retries once it has room.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      }
    }
    if (written < buf.length) this.term.write(buf.subarray(written));
  }

  resize(cols: number, rows: number): void {
    if (!this.exited) this.term.resize(cols, rows);
  }

  /** Signals the agent's whole process group. */
  signal(sig: NodeJS.Signals): void {
    if (this.exited) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      try {
        process.kill(this.pid, sig);
      } catch {
        // Already gone: the exit event is on its way.
      }
    }
  }
}

/**
 * libuv reads a PTY in chunks of at most 4095 bytes and, once the agent has exited (the PTY hangs up), treats the
 * next hang-up after such a short read as the end of the stream without reading on; node-pty also destroys the
 * stream 200 ms after the exit. Either way, output still buffered in the kernel (the agent's last lines, often
 * its summary or the completion promise) is dropped whenever this process is busy. Before the stream goes, read
 * the descriptor dry ourselves and hand the bytes on.
 */
export function drainBeforeClose(term: Pty.IPty, emit: (chunk: Buffer) => void): void {
  const internals = term as unknown as { _socket?: Socket; fd?: number };
  const socket = internals._socket;
  const fd = internals.fd;
  if (socket === undefined || typeof socket.destroy !== 'function' || typeof fd !== 'number') return;
  const destroy = socket.destroy.bind(socket);
  socket.destroy = (error?: Error) => {
    if (!socket.destroyed) readDry(fd, emit);
    return destroy(error);
  };
}

/** Reads a non-blocking descriptor until it has nothing more (EAGAIN) or is finished (EIO, end of file). */
function readDry(fd: number, emit: (chunk: Buffer) => void): void {
  const buf = Buffer.allocUnsafe(64 * 1024);
  for (let i = 0; i < 4096; i++) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch {
      // EAGAIN: nothing buffered; EIO: the agent's side is closed and empty. Either way all is read. Anything
      // else means the descriptor is unusable, and the stream is going away regardless.
      return;
    }
    if (n === 0) return;
    emit(Buffer.from(buf.subarray(0, n)));
  }
}
