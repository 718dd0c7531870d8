/**
 * `/ws/loops/<id>/terminal?from=<offset|start|iteration|end>`: one loop's terminal for the page, through the
 * same attach stream `ralph attach` uses (replay from an offset, then live bytes, each byte once).
 *
 * To the page: binary messages are terminal bytes, in order from the `offset` the `hello` names; text
 * messages are JSON:
 *   { type: 'hello', offset, cols, rows, keyboard: false, writer, readOnly }
 *   { type: 'keyboard', held: bool }            after take / release, or when the loop took it back
 *   { type: 'state', data }                     the loop's state changes (status, writer, interactive_mode…)
 *   { type: 'notice', text }                    keys not taken, a refused request
 *   { type: 'end', end }                        detached, ended or lost; the socket closes next
 * From the page (JSON text): { type: 'take' } / { type: 'release' } the keyboard; { type: 'keys', data } while
 * holding it; { type: 'resize', cols, rows } while holding it. A read-only server refuses take, keys and
 * resize. A page that stops reading (more than `MAX_BUFFERED_BYTES` waiting) is closed with 1013 and may come
 * back from the offset it had reached.
 */
import type { RawData, WebSocket } from 'ws';
import { AttachSession, type AttachFrom } from '../client/attach.js';
import type { RalphPaths } from '../config/paths.js';
import { errorMessage, isRalphError } from '../errors.js';

export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** Bound on one message from the page (keys pasted in one go). */
export const MAX_KEYS_BYTES = 16 * 1024;

export interface BridgeOptions {
  /** The loop's address for `AttachSession.open`: `<location>:<task>`. */
  address: string;
  from: AttachFrom;
  readOnly: boolean;
  paths: RalphPaths;
}

type PageMessage =
  | { type: 'take' }
  | { type: 'release' }
  | { type: 'keys'; data: string }
  | { type: 'resize'; cols: number; rows: number };

export function parseFrom(text: string | null): AttachFrom | null {
  if (text === null || text === '') return 'iteration';
  if (text === 'start' || text === 'iteration' || text === 'end') return text;
  return /^\d{1,15}$/.test(text) ? Number(text) : null;
}

export async function bridgeTerminal(ws: WebSocket, options: BridgeOptions): Promise<void> {
  const send = (value: unknown): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(value));
  };
  let session: AttachSession;
  try {
    session = await AttachSession.open(
      options.address,
      { from: options.from, watchState: true, about: `ralph web (pid ${process.pid})` },
      options.paths,
    );
  } catch (err) {
    // A loop that has ended is not a failure: the page then shows its last screen from its files.
    const ended = isRalphError(err, 'LOOP_ENDED');
    send({ type: 'end', end: { kind: ended ? 'ended' : 'lost', reason: errorMessage(err) } });
    ws.close(ended ? 1000 : 1011, ended ? 'the loop has ended' : 'cannot attach');
    return;
  }
  if (ws.readyState !== ws.OPEN) {
    await session.detach();
    return;
  }
  let keyboard = false;
  send({
    type: 'hello',
    offset: session.nextOffset,
    cols: session.status.cols,
    rows: session.status.rows,
    keyboard,
    writer: session.status.writer,
    readOnly: options.readOnly,
  });
  session.on('data', (chunk) => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      ws.close(1013, 'too far behind; reattach from your offset');
      return;
    }
    ws.send(chunk, { binary: true });
  });
  session.on('state', (data) => {
    send({ type: 'state', data });
    if (data.interactive_mode === false && keyboard) {
      keyboard = false;
      send({ type: 'keyboard', held: false });
    }
  });
  session.on('dropped', (reason) => send({ type: 'notice', text: `keys not sent: ${reason}` }));
  session.once('end', (end) => {
    send({ type: 'end', end });
    ws.close(1000, end.kind);
  });
  ws.on('close', () => void session.detach());

  const setKeyboard = async (held: boolean): Promise<void> => {
    try {
      keyboard = await session.setInteractive(held);
      send({ type: 'keyboard', held: keyboard });
    } catch (err) {
      send({ type: 'notice', text: errorMessage(err) });
    }
  };
  ws.on('message', (raw: RawData, isBinary: boolean) => {
    const message = isBinary ? null : parseMessage(textOf(raw));
    if (message === null) return send({ type: 'notice', text: 'not a message this socket takes' });
    if (options.readOnly) return send({ type: 'notice', text: 'read-only: the keyboard cannot be taken' });
    switch (message.type) {
      case 'take':
        return void setKeyboard(true);
      case 'release':
        return void setKeyboard(false);
      case 'keys':
        if (!keyboard) return send({ type: 'notice', text: 'take the keyboard first' });
        return session.type(message.data);
      case 'resize':
        if (!keyboard) return;
        void session.resize(message.cols, message.rows).catch((err: unknown) => {
          send({ type: 'notice', text: `resize failed: ${errorMessage(err)}` });
        });
    }
  });
}

function textOf(raw: RawData): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return (Buffer.isBuffer(raw) ? raw : Buffer.from(new Uint8Array(raw))).toString('utf8');
}

function parseMessage(text: string): PageMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const m = value as Record<string, unknown>;
  if (m.type === 'take' || m.type === 'release') return { type: m.type };
  if (m.type === 'keys' && typeof m.data === 'string' && Buffer.byteLength(m.data) <= MAX_KEYS_BYTES) {
    return { type: 'keys', data: m.data };
  }
  const size = (n: unknown): n is number =>
    typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 1000;
  if (m.type === 'resize' && size(m.cols) && size(m.rows))
    return { type: 'resize', cols: m.cols, rows: m.rows };
  return null;
}
