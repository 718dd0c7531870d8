/**
 * A scripted channel peer for unit tests: a mutual-TLS server on loopback that decodes frames and lets a
 * test read what the SDK sent and answer by hand. It checks framing and message sequences only; the real
 * edge router is exercised by the tests under test/ziti/e2e.
 */
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { encodeFrame, FrameDecoder } from '../../../src/ziti/channel/codec.js';
import type { Channel } from '../../../src/ziti/channel/channel.js';
import { connectChannel, type ConnectChannelOptions } from '../../../src/ziti/channel/connect.js';
import { markReply, resultMessage, type Message } from '../../../src/ziti/channel/message.js';
import { ChannelContentType, ChannelHeader } from '../../../src/ziti/channel/protocol.js';
import { issue, makeCa, type Issued } from '../identity/pki.js';

export interface TestPki {
  ca: Issued;
  server: Issued;
  client: Issued;
}

export async function makePki(): Promise<TestPki> {
  const ca = await makeCa('Channel Test CA');
  const server = await issue(ca, { cn: 'test-router', serverNames: ['localhost', '127.0.0.1'] });
  const client = await issue(ca, { cn: 'test-client' });
  return { ca, server, client };
}

export class PeerSession {
  readonly socket: TLSSocket;
  readonly received: Message[] = [];
  private readonly waiters: Array<() => void> = [];
  private seq = 1000;
  private decoder = new FrameDecoder();

  constructor(socket: TLSSocket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const msg of this.decoder.push(chunk)) this.received.push(msg);
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on('error', () => undefined);
  }

  /** Removes and returns the first received message matching `match`, waiting up to timeoutMs. */
  async next(match: (m: Message) => boolean = () => true, timeoutMs = 5_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.received.findIndex(match);
      if (index >= 0) return this.received.splice(index, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('the peer received no matching message in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  nextOfType(contentType: number, timeoutMs?: number): Promise<Message> {
    return this.next((m) => m.contentType === contentType, timeoutMs);
  }

  send(msg: Message, sequence?: number): void {
    msg.sequence = sequence ?? this.seq++;
    this.socket.write(encodeFrame(msg));
  }

  reply(request: Message, msg: Message): void {
    this.send(markReply(msg, request));
  }
}

export class ScriptedRouter {
  readonly server: Server;
  readonly url: string;
  readonly sessions: PeerSession[] = [];
  private readonly waiters: Array<() => void> = [];

  private constructor(server: Server) {
    this.server = server;
    this.url = `tls://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('secureConnection', (socket) => {
      this.sessions.push(new PeerSession(socket));
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async start(pki: TestPki, alpn: string[] = ['ziti-edge']): Promise<ScriptedRouter> {
    const server = createServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      ca: [pki.ca.certPem],
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: alpn,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new ScriptedRouter(server);
  }

  async session(index: number, timeoutMs = 5_000): Promise<PeerSession> {
    const deadline = Date.now() + timeoutMs;
    while (this.sessions.length <= index) {
      if (Date.now() > deadline) throw new Error(`no connection #${index} to the scripted router`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.sessions[index]!;
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Starts a scripted router, connects a channel to it as the test client and lets the router accept the
 * hello (answering with router id `router-1`). `extra` adds channel options.
 */
export async function openScriptedChannel(
  pki: TestPki,
  extra: Partial<ConnectChannelOptions> = {},
): Promise<{ scripted: ScriptedRouter; channel: Channel; peer: PeerSession }> {
  const scripted = await ScriptedRouter.start(pki);
  const pending = connectChannel({
    url: scripted.url,
    tls: { cert: pki.client.certPem, key: pki.client.keyPem, ca: [pki.ca.certPem] },
    apiSessionToken: 'api-token-1',
    helloBody: 'test-client',
    connectTimeoutMs: 5_000,
    ...extra,
  });
  const peer = await scripted.session(0);
  const answer = resultMessage(true);
  answer.headers.set(ChannelHeader.id, Buffer.from('router-1'));
  peer.reply(await peer.nextOfType(ChannelContentType.hello), answer);
  return { scripted, channel: await pending, peer };
}
