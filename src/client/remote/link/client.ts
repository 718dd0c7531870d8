/**
 * The client side of the link: connect to this user's link socket (after the same ownership checks as any
 * loop socket), wait briefly for its greeting, then call its methods. Connecting never starts anything; a
 * caller that finds no link decides whether to start one (spawn.ts).
 */
import { RalphError, isRalphError } from '../../../errors.js';
import { RpcClient } from '../../../protocol/client.js';
import { NO_FRAMING_SWITCH } from '../../../protocol/framing-switch.js';
import type { RalphPaths } from '../../../config/paths.js';
import { dialUnix } from '../../../transport/unix.js';
import type { Remote } from '../remotes.js';
import type { ForwardedMethod, LinkResultOf } from './methods.js';
import { linkSocketPath } from './paths.js';
import { linkBuild } from './spawn.js';
import { LINK_HELLO_METHOD, type LinkHello } from './wire.js';

export type { LinkHello } from './wire.js';

/**
 * Why no link could be used: `absent` (no socket, or nobody answers on it), `unresponsive` (connected, but no
 * greeting in time, or the connection itself timed out), `other-build` (a link of another ralph build; it was asked to stop), `untrusted` (the
 * socket or its folder is not this user's own, or not open to this user: nothing was sent).
 */
export type LinkUnavailable = 'absent' | 'unresponsive' | 'other-build' | 'untrusted';

export type LinkConnectResult =
  | { link: LinkClient; unavailable?: undefined; detail?: undefined }
  | { link?: undefined; unavailable: LinkUnavailable; detail: string };

/** How long a command waits for the link's greeting before it goes its own way. */
export const LINK_HELLO_TIMEOUT_MS = 150;

export class LinkClient {
  private constructor(
    readonly rpc: RpcClient,
    readonly hello: LinkHello,
  ) {}

  /** Connects to the link of `paths`; never throws. */
  static async connect(
    paths: RalphPaths,
    options: { helloTimeoutMs?: number; anyBuild?: boolean } = {},
  ): Promise<LinkConnectResult> {
    const timeoutMs = options.helloTimeoutMs ?? LINK_HELLO_TIMEOUT_MS;
    const path = linkSocketPath(paths);
    let rpc: RpcClient;
    try {
      const socket = await dialUnix(path, { timeoutMs });
      // Closing ends the socket at once: a command that is done with the link must not wait for a call the
      // link is still making (a remote that did not answer in time).
      rpc = new RpcClient(socket, { framingSwitch: NO_FRAMING_SWITCH, closeGraceMs: 0 });
    } catch (err) {
      return { unavailable: unavailableBecause(err), detail: messageOf(err) };
    }
    const hello = await waitForHello(rpc, timeoutMs);
    if (hello === null) {
      rpc.close();
      return { unavailable: 'unresponsive', detail: `no greeting from ${path} within ${timeoutMs} ms` };
    }
    const link = new LinkClient(rpc, hello);
    if (options.anyBuild !== true && hello.build !== linkBuild()) {
      // Old code must not answer for this build: it is asked to go, and a new one takes its place.
      await link.stop(timeoutMs).catch(() => undefined);
      link.close();
      return { unavailable: 'other-build', detail: `the link (pid ${hello.pid}) runs build ${hello.build}` };
    }
    return { link };
  }

  /**
   * Asks `remote`'s daemon `method` through the link. Rejects with RpcError `REMOTE_FAILED` (the remote could
   * not be asked: its message is why) or with an error of the link connection itself.
   */
  async daemonCall(remote: Remote, method: ForwardedMethod, timeoutMs: number): Promise<unknown> {
    const answer = (await this.rpc.call(
      'daemon_call',
      {
        remote: { name: remote.name, identity: remote.identity, service: remote.service },
        method,
        timeout_ms: Math.max(1, Math.round(timeoutMs)),
      },
      // The link bounds the call itself; this only covers a link that stops answering.
      { timeoutMs: timeoutMs + 1000 },
    )) as LinkResultOf<'daemon_call'>;
    return answer.result;
  }

  status(timeoutMs = 5000): Promise<LinkResultOf<'link_status'>> {
    return this.rpc.call('link_status', {}, { timeoutMs }) as Promise<LinkResultOf<'link_status'>>;
  }

  stop(timeoutMs = 5000): Promise<LinkResultOf<'link_stop'>> {
    return this.rpc.call('link_stop', {}, { timeoutMs }) as Promise<LinkResultOf<'link_stop'>>;
  }

  close(): void {
    this.rpc.close();
  }
}

function waitForHello(rpc: RpcClient, timeoutMs: number): Promise<LinkHello | null> {
  return new Promise((resolve) => {
    const done = (hello: LinkHello | null): void => {
      clearTimeout(timer);
      rpc.off('notification', onNotification);
      rpc.off('close', onClose);
      resolve(hello);
    };
    const onNotification = (method: string, params: unknown): void => {
      if (method !== LINK_HELLO_METHOD) return;
      const p = params as Partial<LinkHello> | null;
      const valid =
        typeof p === 'object' &&
        p !== null &&
        typeof p.version === 'string' &&
        typeof p.build === 'string' &&
        typeof p.pid === 'number';
      done(valid ? (p as LinkHello) : null);
    };
    const onClose = (): void => done(null);
    const timer = setTimeout(() => done(null), timeoutMs);
    rpc.on('notification', onNotification);
    rpc.once('close', onClose);
  });
}

function unavailableBecause(err: unknown): LinkUnavailable {
  if (isRalphError(err, 'DIAL_TIMEOUT')) return 'unresponsive';
  const theirs = ['UNTRUSTED_SOCKET', 'UNSAFE_DIRECTORY', 'SOCKET_ACCESS_DENIED'] as const;
  return theirs.some((code) => isRalphError(err, code)) ? 'untrusted' : 'absent';
}

function messageOf(err: unknown): string {
  return err instanceof RalphError || err instanceof Error ? err.message : String(err);
}
