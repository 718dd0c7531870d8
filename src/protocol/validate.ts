/** Turning zod issues into short messages that name the field, and checking the request envelope. */
import type { z } from 'zod';
import type { JSONRPCID, JSONRPCRequest } from 'json-rpc-2.0';
import { RpcError } from './errors.js';

export interface IssueSummary {
  path: string;
  message: string;
}

/** `['events', 0]` → `events[0]`; the empty path is `params`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? 'params' : out;
}

function describeIssue(issue: z.core.$ZodIssue): IssueSummary[] {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const prefix = path === 'params' ? '' : `${path}.`;
    return issue.keys.map((key) => ({ path: `${prefix}${key}`, message: 'unknown field' }));
  }
  let message = issue.message.replace(/^Invalid input: /, '');
  const missing = /^expected (.+), received undefined$/.exec(message);
  if (missing) message = `missing (expected ${missing[1]})`;
  return [{ path, message }];
}

/** Validation issues, one per offending field, in the order zod found them. */
export function summarizeIssues(issues: readonly z.core.$ZodIssue[]): IssueSummary[] {
  return issues.flatMap(describeIssue);
}

/** Parses `params` with `schema`, or throws INVALID_PARAMS whose message names the first fields at fault. */
export function parseParams<S extends z.ZodType>(method: string, schema: S, params: unknown): z.output<S> {
  if (Array.isArray(params)) {
    throw RpcError.of(
      'INVALID_PARAMS',
      `invalid params for ${method}: params must be an object, not an array`,
      {
        issues: [{ path: 'params', message: 'expected object, received array' }],
      },
    );
  }
  const parsed = schema.safeParse(params ?? {});
  if (parsed.success) return parsed.data;
  const issues = summarizeIssues(parsed.error.issues);
  const shown = issues
    .slice(0, 3)
    .map((i) => `${i.path}: ${i.message}`)
    .join('; ');
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  throw RpcError.of('INVALID_PARAMS', `invalid params for ${method}: ${shown}${more}`, { issues });
}

export type EnvelopeCheck =
  { ok: true; request: JSONRPCRequest } | { ok: false; id: JSONRPCID; message: string };

/** A JSON-RPC id: a string, a number or null. */
export function isId(value: unknown): value is JSONRPCID {
  return typeof value === 'string' || typeof value === 'number' || value === null;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Checks that a parsed JSON value is a JSON-RPC 2.0 request object (not what its params contain). */
export function checkEnvelope(value: unknown): EnvelopeCheck {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, id: null, message: `invalid request: expected a JSON object, got ${kindOf(value)}` };
  }
  const msg = value as Record<string, unknown>;
  if ('id' in msg && !isId(msg.id)) {
    return { ok: false, id: null, message: 'invalid request: "id" must be a string, a number or null' };
  }
  const id = isId(msg.id) ? msg.id : null;
  if (msg.jsonrpc !== '2.0') return { ok: false, id, message: 'invalid request: "jsonrpc" must be "2.0"' };
  if ('result' in msg || 'error' in msg) {
    return {
      ok: false,
      id: null,
      message: 'invalid request: this server sends no requests, so it takes no responses',
    };
  }
  if (typeof msg.method !== 'string')
    return { ok: false, id, message: 'invalid request: "method" must be a string' };
  if ('params' in msg && typeof msg.params !== 'object') {
    return {
      ok: false,
      id,
      message: `invalid request: "params" must be an object, got ${kindOf(msg.params)}`,
    };
  }
  return { ok: true, request: msg as unknown as JSONRPCRequest };
}
