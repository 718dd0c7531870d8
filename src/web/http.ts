/** Small HTTP helpers for `ralph web`: responses with the same safety headers, bounded JSON bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request the server refuses, with the status and a stable code for the JSON answer. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * Sent with every response. No Access-Control-* header is ever sent: no other origin may read anything.
 * Scripts come from this origin only; styles may also be inline, because xterm.js writes the terminal's
 * theme into a style element it creates.
 */
export const SAFETY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; " +
    "img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  // The first URL carries the token: it must never travel on as a referrer.
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  type: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...SAFETY_HEADERS,
    'Content-Type': type,
    'Content-Length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');
}

export function sendError(res: ServerResponse, err: HttpError, headers: Record<string, string> = {}): void {
  send(
    res,
    err.status,
    JSON.stringify({ error: { code: err.code, message: err.message } }),
    'application/json; charset=utf-8',
    headers,
  );
}

export function isJson(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() === 'application/json';
}

/** Reads a JSON body of at most `limit` bytes; the type must be JSON, which a plain form on another site cannot send. */
export async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  if (!isJson(req)) throw new HttpError(415, 'BAD_CONTENT_TYPE', 'the body must be application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'BODY_TOO_LARGE', `the body is over ${limit} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'BAD_JSON', 'the body is not valid JSON');
  }
}
