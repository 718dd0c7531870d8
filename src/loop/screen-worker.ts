/**
 * Worker thread holding a loop's rendered screen. Parsing terminal output is the costliest thing a runner does
 * per byte, so it happens here, beside the runner's event loop rather than on it. Messages are handled in
 * order, so a snapshot reflects every write sent before it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Screen } from './screen.js';
import type { ScreenRequest } from './screen-model.js';

const { cols, rows } = workerData as { cols: number; rows: number };
const screen = new Screen(cols, rows);
const port = parentPort;
if (!port) throw new Error('screen-worker must run as a worker thread');

port.on('message', (msg: ScreenRequest) => {
  switch (msg.type) {
    case 'write':
      screen.write(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength));
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
      port.close();
      break;
  }
});
