/**
 * The edge client API wraps every answer in an envelope: `{data, meta}` on success and
 * `{error: {code, message, cause?, causeMessage?, requestId}, meta}` on failure.
 */
import { ControllerApiError } from '../errors.js';
import type { HttpResponse } from './http.js';

export interface ApiErrorDetail {
  status: number;
  code: string | undefined;
  message: string;
}

/** Parses the body as JSON; undefined when the body is empty or not JSON. */
export function jsonBody(res: HttpResponse): unknown {
  const text = res.body.toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON (e.g. a proxy's HTML error page): callers fall back to the raw text.
    return undefined;
  }
}

/** The `data` member of a successful envelope. */
export function envelopeData(res: HttpResponse, url: string): unknown {
  const body = jsonBody(res);
  if (!isRecord(body) || !('data' in body)) {
    throw new ControllerApiError(
      url,
      res.status,
      undefined,
      `expected a JSON envelope with "data", got ${preview(res)}`,
    );
  }
  return body.data;
}

/** Reads the `error` member of a failed envelope, with a readable message even for non-JSON answers. */
export function errorDetail(res: HttpResponse): ApiErrorDetail {
  const body = jsonBody(res);
  const error = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  if (error === undefined) return { status: res.status, code: undefined, message: preview(res) };
  const code = typeof error.code === 'string' ? error.code : undefined;
  const parts = [typeof error.message === 'string' ? error.message : undefined];
  const cause =
    isRecord(error.cause) && typeof error.cause.message === 'string' ? error.cause.message : undefined;
  const causeMessage = typeof error.causeMessage === 'string' ? error.causeMessage : undefined;
  if (cause ?? causeMessage) parts.push(cause ?? causeMessage);
  const message = parts.filter((p): p is string => p !== undefined && p !== '').join(': ');
  return { status: res.status, code, message: message === '' ? preview(res) : message };
}

export function apiError(res: HttpResponse, url: string): ControllerApiError {
  const detail = errorDetail(res);
  return new ControllerApiError(url, detail.status, detail.code, detail.message);
}

function preview(res: HttpResponse): string {
  const text = res.body.toString('utf8').trim();
  if (text === '') return `empty answer (HTTP ${res.status})`;
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
