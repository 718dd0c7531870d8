/**
 * Worker thread holding a loop's rendered screen. Parsing terminal output is the costliest thing a runner does
 * per byte, so it happens here, beside the runner's event loop rather than on it. Messages are handled in
 * order, so a snapshot reflects every write sent before it.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { Screen } from './screen.js';
import type { ScreenRequest } from './screen-model.js';

/** How much nicer than the runner's own thread the parsing runs (Linux nice values are per thread). */
const SCREEN_NICENESS = 10;

/**
 * On a busy box the parsing yields the CPU to what is on the output's way to its readers (the runner's own
 * thread, the agent, attached clients) and catches up when there is room; a snapshot still waits for every
 * byte written before it. On Linux, setpriority() on the calling thread's id 0 changes only this thread;
 * elsewhere it would change the whole runner, so it is left alone there. It runs once the imports are done and
 * before anything else: threads a thread starts inherit its niceness, and this one starts none afterwards.
 */
function lowerPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    setPriority(Math.min(19, getPriority() + SCREEN_NICENESS));
  } catch {
    // Not allowed (a sandbox without setpriority): the screen is the same, only less polite.
  }
}
lowerPriority();

/** A followed log is read in pieces of this size. */
const READ_BYTES = 4 * 1024 * 1024;

const { cols, rows } = workerData as { cols: number; rows: number };
const screen = new Screen(cols, rows);
const port = parentPort;
if (!port) throw new Error('screen-worker must run as a worker thread');

/** The output log this worker reads, and the offset of the next byte to parse. */
let followed: { fd: number; at: number } | null = null;

/** Parses the followed log up to `end` (bytes the runner has appended; they are in the file already). */
function readUpTo(end: number): void {
  if (followed === null) return;
  while (followed.at < end) {
    const piece = Buffer.allocUnsafe(Math.min(READ_BYTES, end - followed.at));
    const got = readSync(followed.fd, piece, 0, piece.length, followed.at);
    if (got === 0) return;
    screen.write(got === piece.length ? piece : piece.subarray(0, got));
    followed.at += got;
  }
}

port.on('message', (msg: ScreenRequest) => {
  switch (msg.type) {
    case 'write':
      screen.write(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength));
      break;
    case 'follow':
      followed = { fd: openSync(msg.file, 'r'), at: msg.from };
      break;
    case 'grow':
      readUpTo(msg.end);
      break;
    case 'resize':
      screen.resize(msg.cols, msg.rows);
      break;
    case 'snapshot':
      void screen
        .flush()
        .then(() => port.postMessage({ id: msg.id, snapshot: screen.snapshot(msg.scrollback) }));
      break;
    case 'dispose':
      screen.dispose();
      if (followed !== null) closeSync(followed.fd);
      followed = null;
      port.close();
      break;
  }
});
