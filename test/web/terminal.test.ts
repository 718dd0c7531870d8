/**
 * `ralph web`'s terminal socket: a loop's screen bytes through the attach stream, the keyboard taken and
 * released, keys reaching the fake agent (its echo comes back in the byte stream), and a read-only server
 * that refuses the keyboard. A WebSocket client stands in for the page.
 */
import type { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { useCliSandbox, waitFor } from '../cli/harness.js';
import { openSocket, signIn, startWeb, type Messages, type WebProcess } from './support.js';

const sb = useCliSandbox();

/** A terminal socket: its bytes (as text) and JSON messages, collected from the handshake on. */
class TerminalClient {
  constructor(
    readonly ws: WebSocket,
    private readonly inbox: Messages,
  ) {}
  get bytes(): string {
    return this.inbox.bytes;
  }
  get messages(): Record<string, unknown>[] {
    return this.inbox.all;
  }
  send(value: unknown): void {
    this.ws.send(JSON.stringify(value));
  }
  message(check: (m: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
    return this.inbox.waitFor(check, what);
  }
  output(text: string): Promise<true> {
    return waitFor(
      () => this.bytes.includes(text),
      `${JSON.stringify(text)} in the terminal; got ${JSON.stringify(this.bytes.slice(-200))}`,
      20_000,
    );
  }
}

async function terminal(web: WebProcess, cookie: string, id: number): Promise<TerminalClient> {
  const socket = await openSocket(
    web.port!,
    { Origin: `http://127.0.0.1:${web.port}`, Cookie: cookie },
    `/ws/loops/${id}/terminal?from=start`,
  );
  if (!('opened' in socket)) throw new Error(`refused with ${socket.refused}`);
  return new TerminalClient(socket.opened, socket.messages);
}

const echoScript = {
  iterations: [[{ print: 'TERM ready' }, { echo: { until: 'quit\r', timeoutMs: 60_000 } }, { hang: true }]],
  steps: [{ hang: true }],
};

describe('ralph web: a loop terminal', () => {
  it('replays the screen, takes the keyboard, and keys reach the agent; releasing it stops them', async () => {
    const task = sb().makeTask('web-term', { script: echoScript });
    const session = await sb().start(task);
    const web = await startWeb(sb());
    const cookie = await signIn(web);
    const term = await terminal(web, cookie, session.id);
    const hello = await term.message((m) => m.type === 'hello', 'hello');
    expect(hello).toMatchObject({ offset: 0, keyboard: false, readOnly: false });
    await term.output('ECHO:READY');

    term.send({ type: 'keys', data: 'early' });
    await term.message(
      (m) => m.type === 'notice' && m.text === 'take the keyboard first',
      'a refusal of keys',
    );

    term.send({ type: 'take' });
    await term.message((m) => m.type === 'keyboard' && m.held === true, 'the keyboard');
    term.send({ type: 'keys', data: 'hi' });
    await term.output('ECHO:"hi"');
    expect(term.bytes).not.toContain('early');

    term.send({ type: 'release' });
    await term.message((m) => m.type === 'keyboard' && m.held === false, 'the keyboard released');
    term.ws.close();
    await web.stop();
  });

  it('a read-only server shows the screen but refuses the keyboard', async () => {
    const task = sb().makeTask('web-term-ro', { script: echoScript });
    const session = await sb().start(task);
    const web = await startWeb(sb(), ['--read-only']);
    const cookie = await signIn(web);
    const term = await terminal(web, cookie, session.id);
    await term.message((m) => m.type === 'hello' && m.readOnly === true, 'hello');
    await term.output('ECHO:READY');
    term.send({ type: 'take' });
    term.send({ type: 'keys', data: 'sneaky' });
    await waitFor(
      () =>
        term.messages.filter((m) => m.type === 'notice' && String(m.text).startsWith('read-only')).length >=
        2,
      'two read-only refusals',
    );
    expect(term.messages.some((m) => m.type === 'keyboard')).toBe(false);
    expect(term.bytes).not.toContain('sneaky');
    expect(sb().session('web-term-ro').status).toBe('running');
    term.ws.close();
    await web.stop();
  });

  it('tells a page that its loop has ended (not lost), and closes the socket normally', async () => {
    const task = sb().makeTask('web-term-done', { script: { steps: [{ print: 'DONE soon' }] } });
    const session = await sb().start(task, ['-n', '1']);
    await sb().waitForSession('web-term-done', (s) => s.status === 'exhausted', 'the loop ended');
    const web = await startWeb(sb());
    const cookie = await signIn(web);
    const term = await terminal(web, cookie, session.id);
    const closed = new Promise<number>((resolve) => term.ws.once('close', (code) => resolve(code)));
    const end = await term.message((m) => m.type === 'end', 'the end message');
    expect(end.end).toMatchObject({ kind: 'ended' });
    expect(String((end.end as { reason: string }).reason)).toContain('has ended (exhausted');
    expect(await closed).toBe(1000);
    await web.stop();
  });
});
