import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Channel } from '../../../src/ziti/channel/channel.js';
import { connectChannel, parseRouterUrl } from '../../../src/ziti/channel/connect.js';
import { HelloRejectedError, RouterUnreachableError } from '../../../src/ziti/channel/errors.js';
import {
  getBool,
  getString,
  getUint64,
  newMessage,
  putUint64,
  replyFor,
  resultMessage,
} from '../../../src/ziti/channel/message.js';
import { ChannelContentType, ChannelHeader } from '../../../src/ziti/channel/protocol.js';
import { ConnectionClosedByRouterError } from '../../../src/ziti/errors.js';
import { makeCa } from '../identity/pki.js';
import { makePki, openScriptedChannel, ScriptedRouter, type PeerSession, type TestPki } from './peer.js';

let pki: TestPki;
let router: ScriptedRouter;
const channels: Channel[] = [];

beforeAll(async () => {
  pki = await makePki();
});

afterEach(async () => {
  for (const ch of channels.splice(0)) ch.close();
  await router?.close();
});

/** Connects and lets the scripted router accept the hello. */
async function open(
  extra: { probeIntervalMs?: number; probeTimeoutMs?: number } = {},
): Promise<{ ch: Channel; peer: PeerSession }> {
  const opened = await openScriptedChannel(pki, extra);
  router = opened.scripted;
  channels.push(opened.channel);
  return { ch: opened.channel, peer: opened.peer };
}

describe('channel to an edge router', () => {
  it('parses router addresses', () => {
    expect(parseRouterUrl('tls://router.example:3022')).toEqual({ host: 'router.example', port: 3022 });
    expect(parseRouterUrl('tls://[::1]:443')).toEqual({ host: '::1', port: 443 });
    expect(() => parseRouterUrl('https://x:1')).toThrow(RouterUnreachableError);
  });

  it('connects with mutual TLS and ALPN ziti-edge, and sends the hello with the API session token', async () => {
    router = await ScriptedRouter.start(pki);
    const pending = connectChannel({
      url: router.url,
      tls: { cert: pki.client.certPem, key: pki.client.keyPem, ca: [pki.ca.certPem] },
      apiSessionToken: 'api-token-1',
      helloBody: 'test-client',
    });
    const peer = await router.session(0);
    expect(peer.socket.alpnProtocol).toBe('ziti-edge');
    expect(peer.socket.getPeerCertificate().subject.CN).toBe('test-client');
    const hello = await peer.nextOfType(ChannelContentType.hello);
    expect(hello.sequence).toBe(-1);
    expect(hello.body.toString()).toBe('test-client');
    expect(getString(hello.headers, 1002)).toBe('api-token-1');
    const answer = resultMessage(true);
    answer.headers.set(ChannelHeader.id, Buffer.from('router-1'));
    peer.reply(hello, answer);
    const ch = await pending;
    channels.push(ch);
    expect(getString(ch.peerHeaders, ChannelHeader.id)).toBe('router-1');
  });

  it('reports a refused hello as HelloRejectedError', async () => {
    router = await ScriptedRouter.start(pki);
    const pending = connectChannel({
      url: router.url,
      tls: { cert: pki.client.certPem, key: pki.client.keyPem, ca: [pki.ca.certPem] },
      apiSessionToken: 'stale',
    });
    const peer = await router.session(0);
    peer.reply(await peer.nextOfType(ChannelContentType.hello), resultMessage(false, 'no api session'));
    await expect(pending).rejects.toThrow(HelloRejectedError);
    await expect(pending).rejects.toThrow(/no api session/);
  });

  it('abandons a connect under way when its signal aborts: in the TLS handshake and in the hello', async () => {
    const tls = { cert: pki.client.certPem, key: pki.client.keyPem, ca: [pki.ca.certPem] };
    // A router whose port accepts and never speaks: the TLS handshake hangs.
    const held: Socket[] = [];
    const hole = createServer((socket) => {
      held.push(socket);
      socket.resume(); // read (and drop) the client's hello, so that its going away is seen
    });
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    try {
      const port = (hole.address() as AddressInfo).port;
      const handshake = new AbortController();
      const pending = connectChannel({
        url: `tls://127.0.0.1:${port}`,
        tls,
        apiSessionToken: 't',
        connectTimeoutMs: 600_000,
        signal: handshake.signal,
      });
      for (let i = 0; i < 200 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(held).toHaveLength(1);
      const closed = new Promise<void>((resolve) => held[0]!.once('close', () => resolve()));
      handshake.abort();
      await expect(pending).rejects.toThrow(/abandoned/);
      await closed; // the socket is gone, not left to its 10-minute timeout
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => hole.close(() => resolve()));
    }

    // A router that completes TLS and never answers the hello.
    router = await ScriptedRouter.start(pki);
    const hello = new AbortController();
    const pending = connectChannel({
      url: router.url,
      tls,
      apiSessionToken: 't',
      connectTimeoutMs: 600_000,
      signal: hello.signal,
    });
    const peer = await router.session(0);
    await peer.nextOfType(ChannelContentType.hello);
    const closed = new Promise<void>((resolve) => peer.socket.once('close', () => resolve()));
    hello.abort();
    await expect(pending).rejects.toThrow(RouterUnreachableError);
    await closed;
  });

  it('fails with RouterUnreachableError on a closed port and on an untrusted router', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const tls = { cert: pki.client.certPem, key: pki.client.keyPem, ca: [pki.ca.certPem] };
    await expect(
      connectChannel({ url: `tls://127.0.0.1:${port}`, tls, apiSessionToken: 't' }),
    ).rejects.toThrow(RouterUnreachableError);
    router = await ScriptedRouter.start(pki);
    const otherCa = await makeCa('Other CA');
    await expect(
      connectChannel({ url: router.url, tls: { ...tls, ca: [otherCa.certPem] }, apiSessionToken: 't' }),
    ).rejects.toThrow(RouterUnreachableError);
  });

  it('matches replies to requests by ReplyFor, in any order', async () => {
    const { ch, peer } = await open();
    const a = ch.request(newMessage(60783, 'a'), 5_000);
    const b = ch.request(newMessage(60783, 'b'), 5_000);
    const ra = await peer.next((m) => m.body.toString() === 'a');
    const rb = await peer.next((m) => m.body.toString() === 'b');
    expect(ra.sequence).not.toBe(rb.sequence);
    peer.reply(rb, newMessage(60784, 'for-b'));
    peer.reply(ra, newMessage(60784, 'for-a'));
    expect((await a).body.toString()).toBe('for-a');
    expect((await b).body.toString()).toBe('for-b');
    expect(replyFor(await b)).toBe(rb.sequence);
  });

  it('answers heartbeats and latency probes from the router', async () => {
    const { peer } = await open();
    const beat = newMessage(60786, 'x');
    putUint64(beat.headers, ChannelHeader.heartbeat, 123456789n);
    peer.send(beat);
    const answer = await peer.nextOfType(ChannelContentType.heartbeat);
    expect(getUint64(answer.headers, ChannelHeader.heartbeatResponse)).toBe(123456789n);

    const probe = newMessage(ChannelContentType.latency);
    putUint64(probe.headers, ChannelHeader.reflected, 42n);
    peer.send(probe);
    const result = await peer.nextOfType(ChannelContentType.result);
    expect(replyFor(result)).toBe(probe.sequence);
    expect(getUint64(result.headers, ChannelHeader.reflected)).toBe(42n);
    expect(getBool(result.headers, ChannelHeader.resultSuccess)).toBe(true);
  });

  it('probes an idle router, records latency, and closes a link that stops answering', async () => {
    const { ch, peer } = await open({ probeIntervalMs: 100, probeTimeoutMs: 300 });
    const first = await peer.nextOfType(ChannelContentType.latency);
    expect(getUint64(first.headers, ChannelHeader.heartbeat)).toBeDefined();
    peer.reply(first, resultMessage(true));
    for (let i = 0; i < 50 && ch.latencyMs === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    expect(ch.latencyMs).toBeGreaterThanOrEqual(0);
    // From now on the router stays silent.
    const closed = new Promise<Error | undefined>((resolve) => ch.once('close', resolve));
    const reason = await Promise.race([
      closed,
      new Promise<string>((r) => setTimeout(() => r('still open'), 10_000)),
    ]);
    expect(reason).toBeInstanceOf(ConnectionClosedByRouterError);
    expect(ch.closed).toBe(true);
  });

  it('rejects pending requests when the router drops the link', async () => {
    const { ch, peer } = await open();
    const pending = ch.request(newMessage(60790, 'bind'), 10_000);
    await peer.nextOfType(60790);
    peer.socket.destroy();
    await expect(pending).rejects.toThrow(ConnectionClosedByRouterError);
    await expect(ch.send(newMessage(60786))).rejects.toThrow(ConnectionClosedByRouterError);
  });

  it('holds senders while the router does not read (backpressure), then releases them', async () => {
    const { ch, peer } = await open();
    peer.socket.pause();
    const chunk = Buffer.alloc(1024 * 1024, 7);
    let sent = 0;
    let stalled: Promise<void> | undefined;
    for (let i = 0; i < 64; i++) {
      const p = ch.send(newMessage(60786, chunk));
      const done = await Promise.race([
        p.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 300)),
      ]);
      if (!done) {
        stalled = p;
        break;
      }
      sent += 1;
    }
    expect(stalled).toBeDefined();
    expect(sent).toBeLessThan(64);
    peer.socket.resume();
    await stalled;
    const total = sent + 1;
    for (let i = 0; i < total; i++) await peer.nextOfType(60786, 10_000);
    expect(peer.received).toHaveLength(0);
  });
});
