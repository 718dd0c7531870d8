/**
 * The loop page (`#/loop/<id>`): the loop's terminal in xterm.js, fed by /ws/loops/<id>/terminal (replay from
 * the start of the current iteration, then live bytes), with a take / release control for the keyboard.
 * Keys go to the loop only while this page holds the keyboard; while it does, the loop's terminal follows
 * this one's size.
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { openLoopDetails } from './loop-details.js';

type Message =
  | {
      type: 'hello';
      offset: number;
      cols: number;
      rows: number;
      keyboard: boolean;
      writer: string | null;
      readOnly: boolean;
    }
  | { type: 'keyboard'; held: boolean }
  | { type: 'state'; data: { writer?: string | null; status?: string; cols?: number; rows?: number } }
  | { type: 'notice'; text: string }
  | { type: 'end'; end: { kind: string; status?: string; reason?: string | null } };

export interface LoopView {
  close(): void;
}

/** Draws the loop page into `root` and follows the loop until `close`. */
export function openLoopView(root: HTMLElement, id: number, title: string): LoopView {
  root.replaceChildren();
  const bar = document.createElement('div');
  bar.className = 'loop-bar';
  const back = document.createElement('a');
  back.href = '#/';
  back.textContent = '← fleet';
  const name = document.createElement('strong');
  name.textContent = title;
  const keyButton = document.createElement('button');
  keyButton.type = 'button';
  keyButton.id = 'keyboard';
  keyButton.textContent = 'take the keyboard';
  keyButton.disabled = true;
  const status = document.createElement('span');
  status.id = 'terminal-status';
  status.textContent = 'connecting…';
  bar.append(back, name, keyButton, status);
  const screen = document.createElement('div');
  screen.id = 'terminal';
  const side = document.createElement('div');
  side.id = 'loop-details';
  root.append(bar, screen, side);

  const term = new Terminal({ convertEol: false, scrollback: 5000, cursorBlink: false });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(screen);
  // Tests read the terminal's buffer through this handle.
  (window as unknown as { ralphTerminal?: Terminal }).ralphTerminal = term;

  let held = false;
  let readOnly = true;
  const details = openLoopDetails(side, id, () => readOnly);
  const ws = new WebSocket(`ws://${location.host}/ws/loops/${id}/terminal?from=iteration`);
  ws.binaryType = 'arraybuffer';
  const send = (value: unknown): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(value));
  };
  const sendSize = (): void => {
    if (held) send({ type: 'resize', cols: term.cols, rows: term.rows });
  };
  const showKeyboard = (): void => {
    keyButton.textContent = held ? 'release the keyboard' : 'take the keyboard';
    keyButton.dataset.held = String(held);
    keyButton.disabled = readOnly;
    if (held) {
      fit.fit();
      sendSize();
      term.focus();
    }
  };
  let bytesSeen = false;
  /** An ended loop sends no bytes: its last screen, rendered from its log by the server, is drawn instead. */
  const drawLastScreen = async (): Promise<void> => {
    const res = await fetch(`/api/loops/${id}`);
    if (!res.ok || bytesSeen) return;
    const data = (await res.json()) as { detail: { screen: { lines: string[]; history: string[] } | null } };
    const screen = data.detail.screen;
    if (!screen) return;
    const lines = [...screen.history, ...screen.lines];
    while (lines.length > 0 && lines.at(-1)?.trim() === '') lines.pop();
    term.write(lines.join('\r\n'));
  };
  ws.addEventListener('message', (event: MessageEvent<ArrayBuffer | string>) => {
    if (typeof event.data !== 'string') {
      bytesSeen = true;
      term.write(new Uint8Array(event.data));
      return;
    }
    const message = JSON.parse(event.data) as Message;
    switch (message.type) {
      case 'hello':
        readOnly = message.readOnly;
        term.resize(message.cols, message.rows);
        status.textContent = readOnly ? 'watching (read-only)' : 'watching';
        showKeyboard();
        break;
      case 'keyboard':
        held = message.held;
        status.textContent = held ? 'you have the keyboard' : 'watching';
        showKeyboard();
        break;
      case 'state':
        if (message.data.writer && !held) status.textContent = `keyboard held by ${message.data.writer}`;
        // Someone else holding the keyboard resized the loop's terminal: draw it at that size.
        if (!held && message.data.cols && message.data.rows)
          term.resize(message.data.cols, message.data.rows);
        break;
      case 'notice':
        status.textContent = message.text;
        break;
      case 'end':
        if (message.end.kind === 'ended') {
          status.textContent = message.end.reason ?? `loop ${message.end.status ?? 'ended'}`;
          if (!bytesSeen) void drawLastScreen().catch(() => undefined);
        } else {
          status.textContent = `${message.end.kind}${message.end.reason ? `: ${message.end.reason}` : ''}`;
        }
        keyButton.disabled = true;
        break;
    }
  });
  ws.addEventListener('close', () => {
    keyButton.disabled = true;
    if (status.textContent === 'watching' || status.textContent === 'you have the keyboard')
      status.textContent = 'disconnected';
  });
  term.onData((data) => {
    if (held) send({ type: 'keys', data });
  });
  keyButton.addEventListener('click', () => send({ type: held ? 'release' : 'take' }));
  const onResize = (): void => {
    if (!held) return;
    fit.fit();
    sendSize();
  };
  window.addEventListener('resize', onResize);
  return {
    close() {
      window.removeEventListener('resize', onResize);
      details.close();
      ws.close();
      term.dispose();
    },
  };
}
