/**
 * A dial refused for its service session must not keep failing: the context drops the refused session (from
 * its cache and on the controller), checks its API session, and retries with a new session on a channel
 * opened with the API session in use. Runs on the shared network with legacy login: it deletes only its own
 * client's sessions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZitiContext } from '../../../src/ziti/context.js';
import type { ZitiServer } from '../../../src/ziti/edge/server.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../network.js';
import { listening, pipeEcho, readAll, retry, uniqueName } from './helpers.js';

interface SessionRow {
  id: string;
  type?: string;
  apiSessionId?: string;
}

const DIALS = 5;

describe.skipIf(!zitiTestsEnabled())('a dial refused for its session', () => {
  let net: TestNetwork;
  let serverCtx: ZitiContext;
  let clientCtx: ZitiContext;
  let server: ZitiServer;
  const terminator = uniqueName('refusal-echo');
  const legacy = { controller: { auth: 'legacy' as const } };

  async function echo(text: string): Promise<string> {
    const conn = await clientCtx.dial(net.services.e2ee, {
      terminatorIdentity: terminator,
      timeoutMs: 5_000,
    });
    const answer = readAll(conn, 5_000);
    conn.end(Buffer.from(text));
    return (await answer).toString();
  }

  /** DIALS dials in a row; the failures' messages, in order. */
  async function dialSeries(label: string): Promise<string[]> {
    const failures: string[] = [];
    for (let i = 0; i < DIALS; i++) {
      const started = Date.now();
      try {
        expect(await echo(`${label} ${i}`)).toBe(`${label} ${i}`);
        console.log(`[session-refusal] ${label}: dial ${i} served in ${Date.now() - started} ms`);
      } catch (err) {
        failures.push(String(err));
        console.log(
          `[session-refusal] ${label}: dial ${i} FAILED after ${Date.now() - started} ms: ${String(err)}`,
        );
      }
    }
    return failures;
  }

  async function clientDialSessions(): Promise<SessionRow[]> {
    const apiSessionId = clientCtx.controller.currentApiSession()?.id;
    const out = await net.ziti(['edge', 'list', 'sessions', 'true limit 1000', '--output-json']);
    const rows = (JSON.parse(out) as { data?: SessionRow[] }).data ?? [];
    return rows.filter((r) => r.apiSessionId === apiSessionId && r.type === 'Dial');
  }

  beforeAll(async () => {
    net = await acquireTestNetwork();
    serverCtx = await ZitiContext.fromIdentityFile(net.identities.server.file, legacy);
    clientCtx = await ZitiContext.fromIdentityFile(net.identities.client.file, legacy);
    server = await serverCtx.bind(net.services.e2ee, { terminatorIdentity: terminator });
    server.on('connection', pipeEcho);
    await listening(server);
    // The router may confirm the terminator a moment after the bind.
    expect(await retry(20, 500, () => echo('warm'))).toBe('warm');
  });

  afterAll(async () => {
    await clientCtx?.close();
    await serverCtx?.close();
    await net?.stop();
  });

  it('dials again at once after a login that left a channel of the old API session open', async () => {
    expect(await echo('before')).toBe('before');
    const before = clientCtx.controller.currentApiSession()!.id;
    // A new API session while a channel opened with the old one is still up (as when a hello races a
    // re-login): the router refuses the new API session's service sessions on that channel.
    await clientCtx.controller.reauthenticate();
    expect(clientCtx.controller.currentApiSession()!.id).not.toBe(before);

    const failures = await dialSeries('after login');
    expect(failures.length, failures.join('\n')).toBeLessThanOrEqual(1);
    expect(failures.slice(1)).toEqual([]);
  }, 60_000);

  it('dials again at once after its Dial session was deleted on the controller', async () => {
    expect(await echo('before')).toBe('before');
    const rows = await clientDialSessions();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) await net.ziti(['edge', 'delete', 'session', row.id]);

    const failures = await dialSeries('after session delete');
    expect(failures.length, failures.join('\n')).toBeLessThanOrEqual(1);
    const now = (await clientDialSessions()).map((r) => r.id);
    expect(now.some((id) => rows.some((r) => r.id === id))).toBe(false);
  }, 60_000);

  it('dials again at once after its API session and Dial session were deleted on the controller', async () => {
    expect(await echo('before')).toBe('before');
    const before = clientCtx.controller.currentApiSession()!.id;
    for (const row of await clientDialSessions()) await net.ziti(['edge', 'delete', 'session', row.id]);
    await net.ziti(['edge', 'delete', 'api-session', before]);

    const failures = await dialSeries('after API session delete');
    expect(failures.length, failures.join('\n')).toBeLessThanOrEqual(1);
    expect(clientCtx.controller.currentApiSession()?.id).not.toBe(before);
  }, 60_000);
});
