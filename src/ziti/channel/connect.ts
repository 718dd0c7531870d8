/**
 * Opens a channel to an edge router: mutual TLS to `tls://host:port` with the identity's certificate, then
 * the hello carrying the API session token (header 1002), which the router checks against the certificate.
 */
import { isIP } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Channel, checkConnReceiveBufferBytes, checkReceiveHold, type ChannelOptions } from './channel.js';
import { HelloRejectedError, RouterUnreachableError } from './errors.js';
import { getBool, putString, type Headers } from './message.js';
import { ChannelHeader } from './protocol.js';

/** Header id of the API session token in the hello (an edge header id). */
export const HELLO_SESSION_TOKEN_HEADER = 1002;
/** ALPN protocol name edge routers announce for SDK connections. */
export const EDGE_ALPN = 'ziti-edge';

export interface ChannelTlsMaterial {
  cert: string;
  key: string;
  ca: string[];
}

export interface ConnectChannelOptions extends Partial<ChannelOptions> {
  /** `tls://host:port` as the controller lists it for the router. */
  url: string;
  tls: ChannelTlsMaterial;
  apiSessionToken: string;
  /** Body of the hello: the identity's name. */
  helloBody?: string;
  connectTimeoutMs?: number;
  /** Overrides the TLS server name checked against the router's certificate. */
  servername?: string;
  /** Ends a connect under way (TLS handshake or hello): it rejects and leaves no socket open. */
  signal?: AbortSignal;
}

export interface RouterAddress {
  host: string;
  port: number;
}

export function parseRouterUrl(url: string): RouterAddress {
  const match = /^tls:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(url);
  if (!match) throw new RouterUnreachableError(url, 'not a tls://host:port address');
  const host = (match[1] as string).replace(/^\[|\]$/g, '');
  const port = Number(match[2]);
  if (port < 1 || port > 65535) throw new RouterUnreachableError(url, `port ${port} is out of range`);
  return { host, port };
}

function openTls(
  options: ConnectChannelOptions,
  address: RouterAddress,
  timeoutMs: number,
): Promise<TLSSocket> {
  return new Promise<TLSSocket>((resolve, reject) => {
    const servername = options.servername ?? (isIP(address.host) ? undefined : address.host);
    const socket = tlsConnect({
      host: address.host,
      port: address.port,
      cert: options.tls.cert,
      key: options.tls.key,
      ca: options.tls.ca,
      ALPNProtocols: [EDGE_ALPN],
      ...(servername === undefined ? {} : { servername }),
    });
    const timer = setTimeout(() => {
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(new RouterUnreachableError(options.url, `no TLS handshake within ${timeoutMs} ms`));
    }, timeoutMs);
    const onAbort = (): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new RouterUnreachableError(options.url, 'the connect was abandoned'));
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(new RouterUnreachableError(options.url, err.message, { cause: err }));
    };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      resolve(socket);
    });
  });
}

/** Connects and completes the hello; the returned channel is ready for edge messages. */
export async function connectChannel(options: ConnectChannelOptions): Promise<Channel> {
  const address = parseRouterUrl(options.url);
  const timeoutMs = options.connectTimeoutMs ?? 15_000;
  const connReceiveBufferBytes = checkConnReceiveBufferBytes(options.connReceiveBufferBytes);
  const connReceiveHold = checkReceiveHold(options.connReceiveHold);
  const started = Date.now();
  const socket = await openTls(options, address, timeoutMs);
  const channel = new Channel(socket, {
    label: options.label ?? options.url,
    maxFrameBytes: options.maxFrameBytes,
    probeIntervalMs: options.probeIntervalMs,
    probeTimeoutMs: options.probeTimeoutMs,
    connReceiveBufferBytes,
    connReceiveHold,
  });
  const headers: Headers = new Map();
  putString(headers, HELLO_SESSION_TOKEN_HEADER, options.apiSessionToken);
  let result;
  const onAbort = (): void => channel.close();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (options.signal?.aborted) throw new Error('the connect was abandoned');
    const remaining = Math.max(1, timeoutMs - (Date.now() - started));
    result = await channel.hello(options.helloBody ?? '', headers, remaining);
  } catch (err) {
    channel.close();
    throw new RouterUnreachableError(options.url, `hello failed: ${(err as Error).message}`, { cause: err });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (getBool(result.headers, ChannelHeader.resultSuccess) !== true) {
    channel.close();
    throw new HelloRejectedError(options.url, result.body.toString('utf8') || 'no reason given');
  }
  return channel;
}
