/**
 * OIDC login against a controller that serves its OIDC API (v1.7.2's quickstart config has the `edge-oidc`
 * binding) with access tokens shortened to the controller's minimum of one minute: bind and dial run on OIDC
 * tokens without the legacy `/authenticate`, the access token is refreshed before it expires, and bind and dial
 * still work past the first token's expiry, on the channel opened with the first token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { ZitiContext } from '../../../src/ziti/context.js';
import type { ControllerRequestInfo } from '../../../src/ziti/controller/types.js';
import type { ZitiServer } from '../../../src/ziti/edge/server.js';
import { loadIdentity } from '../../../src/ziti/identity.js';
import { startTestNetwork, zitiTestsEnabled, type TestNetwork } from '../network.js';
import { listening, nextEvent, pipeEcho, readAll, uniqueName } from './helpers.js';

const LEGACY_LOGIN = '/edge/client/v1/authenticate';
const TOKEN_ENDPOINT = '/oidc/oauth/token';

/** A context whose controller requests are recorded from the very first one. */
async function recordedContext(
  file: string,
  auth?: 'auto' | 'legacy' | 'oidc',
): Promise<{ ctx: ZitiContext; requests: ControllerRequestInfo[] }> {
  const ctx = new ZitiContext(await loadIdentity(file), { controller: { auth } });
  const requests: ControllerRequestInfo[] = [];
  ctx.controller.on('request', (r) => requests.push(r));
  await ctx.controller.authenticate();
  return { ctx, requests };
}

async function echoOnce(
  ctx: ZitiContext,
  service: string,
  terminator: string,
  text: string,
): Promise<string> {
  const conn = await ctx.dial(service, { terminatorIdentity: terminator, timeoutMs: 20_000 });
  conn.end(text);
  return (await readAll(conn, 20_000)).toString('utf8');
}

describe.skipIf(!zitiTestsEnabled())('OIDC login (edge-oidc binding, 1-minute access tokens)', () => {
  let net: TestNetwork;
  const contexts: ZitiContext[] = [];

  beforeAll(async () => {
    net = await startTestNetwork({ oidcAccessTokenDuration: '1m', timeoutMs: 180_000 });
  }, 240_000);

  afterAll(async () => {
    await Promise.allSettled(contexts.map((c) => c.close()));
    await net?.stop();
  });

  it('binds and dials with OIDC tokens and never calls the legacy /authenticate', async () => {
    const host = await recordedContext(net.identities.server.file);
    const client = await recordedContext(net.identities.client.file);
    contexts.push(host.ctx, client.ctx);
    const terminator = uniqueName('oidc-echo');
    const server = await host.ctx.bind(net.services.plain, { terminatorIdentity: terminator });
    server.on('connection', pipeEcho);
    await listening(server);

    expect(await echoOnce(client.ctx, net.services.plain, terminator, 'over oidc')).toBe('over oidc');

    for (const side of [host, client]) {
      expect(side.ctx.controller.authMethod()).toBe('oidc');
      expect(side.ctx.controller.currentApiSession()?.token.startsWith('ey')).toBe(true);
      expect(side.requests.filter((r) => r.path === LEGACY_LOGIN)).toEqual([]);
      expect(side.requests.some((r) => r.path === TOKEN_ENDPOINT && r.status === 200)).toBe(true);
      expect(side.requests.some((r) => r.path === '/edge/client/v1/sessions' && r.status < 300)).toBe(true);
    }
    expect(client.ctx.controller.currentApiSession()?.identityName).toBe(net.identities.client.name);
    await server.close();
  }, 90_000);

  it('auth: legacy still logs in with POST /authenticate on the same controller', async () => {
    const client = await recordedContext(net.identities.client.file, 'legacy');
    contexts.push(client.ctx);
    expect(client.ctx.controller.authMethod()).toBe('legacy');
    expect(client.requests.some((r) => r.path === LEGACY_LOGIN && r.status === 200)).toBe(true);
    expect(client.requests.some((r) => r.path.startsWith('/oidc'))).toBe(false);
    await client.ctx.close();
  }, 30_000);

  it('refreshes the access token before expiry; bind and dial work past the first token expiry', async () => {
    const host = await recordedContext(net.identities.server.file);
    const client = await recordedContext(net.identities.client.file);
    contexts.push(host.ctx, client.ctx);
    const terminator = uniqueName('oidc-refresh');
    const server: ZitiServer = await host.ctx.bind(net.services.e2ee, { terminatorIdentity: terminator });
    server.on('connection', pipeEcho);
    await listening(server);
    expect(await echoOnce(client.ctx, net.services.e2ee, terminator, 'before')).toBe('before');

    const first = client.ctx.controller.apiSessionDetail()!;
    const hostFirst = host.ctx.controller.apiSessionDetail()!;
    const channelBefore = client.ctx.routers().map((r) => r.channelId);
    console.log(
      `[oidc] access token lifetime ${first.expirationSeconds} s, expires ${first.expiresAt.toISOString()}`,
    );
    expect(first.expirationSeconds).toBeLessThanOrEqual(60);

    // Both sides refresh between 1/2 and 5/6 of the minute.
    const [clientRefreshed] = await Promise.all([
      nextEvent<{ id: string; token: string }>(client.ctx.controller, 'tokenRefreshed', 75_000),
      nextEvent(host.ctx.controller, 'tokenRefreshed', 75_000),
    ]);
    expect(clientRefreshed.id).toBe(first.id);
    expect(clientRefreshed.token).not.toBe(first.token);
    const refreshGrants = client.requests.filter((r) => r.path === TOKEN_ENDPOINT && r.status === 200);
    expect(refreshGrants.length).toBeGreaterThanOrEqual(2); // the login and at least one refresh

    // Past the expiry of the first tokens (with the controller's clock tolerance).
    const until = Math.max(first.expiresAt.getTime(), hostFirst.expiresAt.getTime()) + 5_000;
    for (let i = 0; i < 100 && Date.now() < until; i++) await sleep(Math.min(1_000, until - Date.now()));
    expect(Date.now()).toBeGreaterThan(first.expiresAt.getTime());

    // The existing bind still takes new connections, and dials still go over the channel of the first token.
    expect(await echoOnce(client.ctx, net.services.e2ee, terminator, 'after expiry')).toBe('after expiry');
    expect(client.ctx.routers().map((r) => r.channelId)).toEqual(channelBefore);
    // A new bind works too.
    const terminator2 = uniqueName('oidc-rebind');
    const server2 = await host.ctx.bind(net.services.plain, { terminatorIdentity: terminator2 });
    server2.on('connection', pipeEcho);
    await listening(server2);
    expect(await echoOnce(client.ctx, net.services.plain, terminator2, 'new bind')).toBe('new bind');
    expect(client.requests.filter((r) => r.path === LEGACY_LOGIN)).toEqual([]);
    expect(host.requests.filter((r) => r.path === LEGACY_LOGIN)).toEqual([]);
    await server.close();
    await server2.close();
  }, 180_000);
});
