/**
 * The link's method table: what a client of this user may ask the link over its Unix socket. Same shape as the
 * per-loop and daemon tables, rendered into docs/protocol.md under "Link methods". Only the daemon methods that
 * read and stream nothing may be forwarded; an answer is always the daemon's own, asked at the time.
 */
import { z } from 'zod';
import { boundedString, isoTimestamp, noParams } from '../../../protocol/schemas.js';
import { defineMethod } from '../../../protocol/spec.js';
import { REMOTE_NAME_PATTERN, SERVICE_PATTERN } from '../remotes.js';

/** The daemon methods a link forwards. */
export const FORWARDED_METHODS = ['list_loops', 'get_health'] as const;
export type ForwardedMethod = (typeof FORWARDED_METHODS)[number];

/** The longest a forwarded call may be given. */
export const MAX_CALL_TIMEOUT_MS = 120_000;

const remote = z.strictObject({
  name: z.string().regex(REMOTE_NAME_PATTERN, "use 1-63 letters, digits, '.', '_' or '-'"),
  identity: boundedString(4096, 1).refine((p) => p.startsWith('/'), 'must be an absolute path'),
  service: z.string().regex(SERVICE_PATTERN, 'must be 1-255 characters without spaces'),
});

const connectionState = z.enum(['connected', 'connecting', 'closed']);

export const linkMethods = {
  link_status: defineMethod({
    access: 'read',
    summary:
      'What the link is and holds: its process, version, since when it runs, how long it waits with no ' +
      'client before it exits, its clients, and one entry per remote daemon connection it keeps.',
    params: noParams,
    result: z.object({
      pid: z.number().int().min(1),
      version: z.string(),
      started_at: isoTimestamp,
      socket: z.string(),
      idle_exit_ms: z.number().int().min(0),
      clients: z.number().int().min(0),
      remotes: z.array(
        z.object({
          name: z.string(),
          service: z.string(),
          identity: z.string(),
          state: connectionState,
          connected_at: isoTimestamp.nullable(),
          calls: z.number().int().min(0),
          last_error: z.string().nullable(),
        }),
      ),
    }),
    example: {
      params: {},
      result: {
        pid: 4242,
        version: '0.1.0',
        started_at: '2026-01-23T10:00:00.000Z',
        socket: '/run/user/1000/ralph/link/link.sock',
        idle_exit_ms: 600000,
        clients: 1,
        remotes: [
          {
            name: 'vps1',
            service: 'ralph-vps1',
            identity: '/home/me/.config/ralph/identities/laptop.json',
            state: 'connected',
            connected_at: '2026-01-23T10:00:01.000Z',
            calls: 12,
            last_error: null,
          },
        ],
      },
    },
  }),
  daemon_call: defineMethod({
    access: 'read',
    summary:
      "Ask a remote's daemon one read-only method (`list_loops`, `get_health`) over the connection the link " +
      'keeps to it, opening it (or opening it again after a loss) within `timeout_ms`. The result is the ' +
      "daemon's answer to this very call; nothing is cached. A remote that cannot be asked in time answers " +
      '`REMOTE_FAILED` whose message says why, as `ralph status` prints it.',
    params: z.strictObject({
      remote,
      method: z.enum(FORWARDED_METHODS),
      timeout_ms: z.number().int().min(1).max(MAX_CALL_TIMEOUT_MS),
    }),
    result: z.object({ result: z.record(z.string(), z.unknown()) }),
    example: {
      params: {
        remote: {
          name: 'vps1',
          identity: '/home/me/.config/ralph/identities/laptop.json',
          service: 'ralph-vps1',
        },
        method: 'list_loops',
        timeout_ms: 3000,
      },
      result: { result: { loops: [], count: 0, journal_seq: 17 } },
    },
    errors: ['REMOTE_FAILED'],
  }),
  link_stop: defineMethod({
    access: 'control',
    summary: 'End the link: it answers, closes its daemon connections and its socket, and exits.',
    params: noParams,
    result: z.object({ pid: z.number().int().min(1) }),
    example: { params: {}, result: { pid: 4242 } },
  }),
};

export type LinkMethods = typeof linkMethods;
export type LinkResultOf<M extends keyof LinkMethods> = z.output<LinkMethods[M]['result']>;
export type LinkRemoteParams = z.output<typeof remote>;
