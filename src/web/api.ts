/**
 * The JSON API of `ralph web`, on top of the same `Fleet` the TUI draws:
 *
 *   GET  /api/fleet                      { readOnly, rows }
 *   GET  /api/loops/<id>[?transcript=1]  { row, detail }  (screen, iterations with cost, stories; the last
 *                                        iteration's transcript when asked)
 *   POST /api/loops/<id>/<action>        stop | pause | resume | add-iterations {count} | inject {text}
 *
 * `<id>` is the loop's session id in the registry (rows carry it as `id`). A read-only server refuses every
 * POST with 403 READ_ONLY before it looks at the loop.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Fleet, FleetRow } from '../client/fleet/index.js';
import { errorMessage } from '../errors.js';
import { RpcError } from '../protocol/index.js';
import { HttpError, readJson, sendJson } from './http.js';

/** A fleet row as the page gets it: the row without the registry record, plus the session id. */
export type WebRow = Omit<FleetRow, 'session'> & { id: number };

export function toWebRow(row: FleetRow): WebRow {
  const { session, ...rest } = row;
  return { ...rest, id: session.id };
}

export interface ApiContext {
  fleet: Fleet;
  readOnly: boolean;
}

type Action = (ctx: ApiContext, row: FleetRow, body: Record<string, unknown>) => Promise<unknown>;

const ACTIONS: Record<string, Action> = {
  stop: ({ fleet }, row) => fleet.request(row, 'stop'),
  pause: ({ fleet }, row) => fleet.request(row, 'pause'),
  resume: ({ fleet }, row) => fleet.request(row, 'resume'),
  'add-iterations': ({ fleet }, row, body) => {
    const count = body.count;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 10_000) {
      throw new HttpError(400, 'BAD_PARAMS', 'count must be a whole number from 1 to 10000');
    }
    return fleet.request(row, 'add_iterations', { count });
  },
  inject: ({ fleet }, row, body) => {
    const text = body.text;
    if (typeof text !== 'string' || text.trim() === '') {
      throw new HttpError(400, 'BAD_PARAMS', 'text must be a string that is not blank');
    }
    return fleet.request(row, 'inject_prompt', { prompt: text });
  },
};

/** Answers one /api request; throws HttpError for refusals. */
export async function handleApi(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (path === '/api/fleet') {
    if (method !== 'GET') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use GET');
    return sendJson(res, 200, { readOnly: ctx.readOnly, rows: ctx.fleet.rows().map(toWebRow) });
  }
  const m = /^\/api\/loops\/(\d{1,15})(?:\/([a-z-]+))?$/.exec(path);
  if (!m) throw new HttpError(404, 'NOT_FOUND', `no such endpoint: ${path}`);
  const action = m[2];
  if (action === undefined) {
    if (method !== 'GET') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use GET');
    const row = findRow(ctx.fleet, Number(m[1]));
    const query = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
    const detail = await ctx.fleet.detail(row, 200, { transcript: query.get('transcript') === '1' });
    return sendJson(res, 200, { row: toWebRow(row), detail });
  }
  if (method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use POST');
  if (ctx.readOnly) throw new HttpError(403, 'READ_ONLY', 'this server is read-only (ralph web --read-only)');
  const run = ACTIONS[action];
  if (run === undefined) throw new HttpError(404, 'NOT_FOUND', `no such action: ${action}`);
  const body = await readJson(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'BAD_PARAMS', 'the body must be a JSON object');
  }
  // The body is read (bounded) before the loop is looked for: a request is refused the same way for any id.
  const row = findRow(ctx.fleet, Number(m[1]));
  let result: unknown;
  try {
    result = await run(ctx, row, body as Record<string, unknown>);
  } catch (err) {
    throw asHttpError(err);
  }
  ctx.fleet.refreshSoon();
  sendJson(res, 200, { ok: true, result });
}

function findRow(fleet: Fleet, id: number): FleetRow {
  const row = fleet.rows().find((r) => r.session.id === id);
  if (!row) throw new HttpError(404, 'NO_SUCH_LOOP', `no loop with id ${id}`);
  return row;
}

/** A loop's refusal keeps its code; a connection that fails is a bad gateway. */
function asHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof RpcError) {
    if (err.kind === 'REQUEST_TIMEOUT') return new HttpError(504, err.kind, err.message);
    if (err.kind === 'CONNECTION_CLOSED') return new HttpError(502, err.kind, err.message);
    return new HttpError(409, err.kind, err.message.split('\n')[0] ?? err.message);
  }
  return new HttpError(502, 'LOOP_UNREACHABLE', errorMessage(err));
}
