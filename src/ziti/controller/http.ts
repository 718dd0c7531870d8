/** One HTTPS exchange with a controller: bounded in time and size, network failures as typed errors. */
import { request, type Agent } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { ControllerUnreachableError } from '../errors.js';

export const DEFAULT_TIMEOUT_MS = 15_000;
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface HttpTlsOptions {
  cert?: string;
  key?: string;
  ca?: string[];
  /** false only for the first contact of an enrollment, where trust comes from the token signature. */
  rejectUnauthorized?: boolean;
}

export interface HttpRequest {
  url: URL;
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH' | 'PUT';
  headers?: Record<string, string>;
  body?: string;
  tls: HttpTlsOptions;
  agent?: Agent;
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The certificate the server presented (with its issuer chain), when the socket was fresh. */
  peerCertificate: DetailedPeerCertificate | undefined;
}

const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Sends one request and collects the whole answer. */
export function httpsRequest(req: HttpRequest): Promise<HttpResponse> {
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const where = req.url.origin;
  return new Promise<HttpResponse>((resolvePromise, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, res?: HttpResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolvePromise(res!);
    };
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    const clientRequest = request(req.url, {
      method: req.method,
      headers,
      cert: req.tls.cert,
      key: req.tls.key,
      ca: req.tls.ca,
      rejectUnauthorized: req.tls.rejectUnauthorized ?? true,
      agent: req.agent ?? false,
    });
    const timer = setTimeout(() => {
      clientRequest.destroy();
      finish(
        new ControllerUnreachableError(
          where,
          `no answer within ${timeoutMs} ms (${req.method} ${req.url.pathname})`,
        ),
      );
    }, timeoutMs);
    timer.unref();

    clientRequest.on('error', (err: NodeJS.ErrnoException) => finish(unreachable(where, err)));
    clientRequest.on('response', (res) => {
      const socket = res.socket as TLSSocket;
      const peer =
        typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate(true) : undefined;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          clientRequest.destroy();
          finish(new ControllerUnreachableError(where, `answer larger than ${MAX_BODY_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err: NodeJS.ErrnoException) => finish(unreachable(where, err)));
      res.on('end', () =>
        finish(undefined, {
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          peerCertificate: peer && Object.keys(peer).length > 0 ? peer : undefined,
        }),
      );
    });
    clientRequest.end(req.body);
  });
}

function unreachable(where: string, err: NodeJS.ErrnoException): ControllerUnreachableError {
  const code = err.code ?? '';
  if (TLS_TRUST_CODES.has(code)) {
    return new ControllerUnreachableError(
      where,
      `its TLS certificate is not trusted (${code}: ${err.message})`,
      {
        hint: "the identity's CA bundle does not match this controller; re-enroll or fix ztAPI",
        cause: err,
      },
    );
  }
  const reason = code ? `${code} (${err.message})` : err.message;
  return new ControllerUnreachableError(where, reason, { cause: err });
}
