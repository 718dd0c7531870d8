/**
 * `/ws/fleet`: the fleet's rows pushed to every open page. A page gets the whole list when it connects and
 * again whenever the fleet changes (the fleet batches changes, at most four a second); a list equal to the
 * last one sent is not sent again. Messages are JSON:
 *
 *   { "type": "fleet", "readOnly": bool, "rows": WebRow[] }
 *   { "type": "problem", "text": string }
 *
 * A page that does not read (its socket has more than `MAX_BUFFERED_BYTES` waiting) is closed with 1013: it
 * reconnects and gets the whole list again, so nothing is lost but the backlog. Pages send nothing here.
 */
import type { WebSocket } from 'ws';
import type { Fleet } from '../client/fleet/index.js';
import { toWebRow } from './api.js';

export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export class FleetPush {
  private readonly clients = new Set<WebSocket>();
  private last = '';
  private readonly onChange = (): void => this.broadcast();
  private readonly onProblem = (text: string): void => {
    const message = JSON.stringify({ type: 'problem', text });
    for (const ws of this.clients) this.sendTo(ws, message);
  };

  constructor(
    private readonly fleet: Fleet,
    private readonly readOnly: boolean,
  ) {
    fleet.on('change', this.onChange);
    fleet.on('problem', this.onProblem);
  }

  get size(): number {
    return this.clients.size;
  }

  add(ws: WebSocket): void {
    this.clients.add(ws);
    ws.on('close', () => this.clients.delete(ws));
    ws.on('error', () => ws.terminate());
    // Nothing is expected from the page on this socket.
    ws.on('message', () => ws.close(1003, 'this socket only sends'));
    this.sendTo(ws, this.snapshot());
  }

  close(): void {
    this.fleet.off('change', this.onChange);
    this.fleet.off('problem', this.onProblem);
    for (const ws of this.clients) ws.terminate();
    this.clients.clear();
  }

  private snapshot(): string {
    this.last = JSON.stringify({
      type: 'fleet',
      readOnly: this.readOnly,
      rows: this.fleet.rows().map(toWebRow),
    });
    return this.last;
  }

  private broadcast(): void {
    const previous = this.last;
    const message = this.snapshot();
    if (message === previous) return;
    for (const ws of this.clients) this.sendTo(ws, message);
  }

  private sendTo(ws: WebSocket, message: string): void {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      ws.close(1013, 'too far behind; reconnect');
      return;
    }
    ws.send(message);
  }
}
