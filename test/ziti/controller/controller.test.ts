/**
 * The controller client against a real OpenZiti network (`ziti edge quickstart`, see test/ziti/network.ts).
 * Skipped, with a notice, when no `ziti` binary is available.
 */
import { request } from 'node:https';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControllerClient } from '../../../src/ziti/controller/client.js';
import type { ApiSessionDetail, ApiSessionInfo } from '../../../src/ziti/controller/types.js';
import {
  checkEnrollmentJwt,
  decodeEnrollmentJwt,
  readEnrollmentToken,
} from '../../../src/ziti/controller/jwt.js';
import { enrollWithJwt } from '../../../src/ziti/enroll.js';
import {
  ControllerUnreachableError,
  EnrollmentFailedError,
  NoBindPermissionError,
  NoDialPermissionError,
  ServiceNotFoundError,
} from '../../../src/ziti/errors.js';
import { identityFromPem, loadIdentity, type ZitiIdentity } from '../../../src/ziti/identity.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../network.js';

describe.skipIf(!zitiTestsEnabled())('ControllerClient against a quickstart network', () => {
  let net: TestNetwork;
  let dir: string;
  const clients: ControllerClient[] = [];

  async function clientFor(file: string, auth?: 'legacy' | 'oidc'): Promise<ControllerClient> {
    const ctrl = new ControllerClient(await loadIdentity(file), { auth });
    clients.push(ctrl);
    return ctrl;
  }

  beforeAll(async () => {
    net = await acquireTestNetwork();
    dir = await mkdtemp(join(tmpdir(), 'ziti-ctrl-it-'));
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await net?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('authenticates with the client certificate and reports the API session', async () => {
    const ctrl = await clientFor(net.identities.client.file);
    const seen: ApiSessionInfo[] = [];
    ctrl.on('apiSession', (s) => seen.push(s));
    const session = await ctrl.authenticate();
    expect(session.token).not.toBe('');
    expect(session.identityName).toBe(net.identities.client.name);
    expect(session.expirationSeconds).toBeGreaterThan(0);
    expect(session.expiresAt.getTime()).toBeGreaterThan(Date.now());
    expect(ctrl.currentApiSession()).toEqual({
      id: session.id,
      token: session.token,
      identityId: session.identityId,
      identityName: net.identities.client.name,
    });
    expect(seen).toHaveLength(1);
    const refreshed = await ctrl.refresh();
    expect(refreshed.id).toBe(session.id);
    expect(seen).toHaveLength(1);
    expect((await ctrl.version()).version).toMatch(/^v?\d+\.\d+\.\d+/);
  });

  it('looks services up with their encryption requirement and permissions', async () => {
    const ctrl = await clientFor(net.identities.client.file);
    const plain = await ctrl.getService(net.services.plain);
    const e2ee = await ctrl.getService(net.services.e2ee);
    expect(plain.name).toBe(net.services.plain);
    expect(plain.encryptionRequired).toBe(false);
    expect(e2ee.encryptionRequired).toBe(true);
    expect(plain.permissions).toContain('Dial');
    const all = await ctrl.listServices();
    expect(all.map((s) => s.name)).toEqual(expect.arrayContaining([net.services.plain, net.services.e2ee]));
  });

  it('creates a Dial session that lists an edge router with a tls address', async () => {
    const ctrl = await clientFor(net.identities.client.file);
    const svc = await ctrl.getService(net.services.plain);
    const session = await ctrl.createSession(svc, 'Dial');
    expect(session.type).toBe('Dial');
    expect(session.serviceId).toBe(svc.id);
    expect(session.token).not.toBe('');
    expect(session.edgeRouters.length).toBeGreaterThan(0);
    expect(session.edgeRouters[0]!.urls.tls).toMatch(/^tls:\/\/.+:\d+$/);
    await ctrl.deleteSession(session.id);
  });

  it('lets the hosting identity create a Bind session', async () => {
    const server = await clientFor(net.identities.server.file);
    const svc = await server.getService(net.services.plain);
    expect(svc.permissions).toContain('Bind');
    const session = await server.createSession(svc, 'Bind');
    expect(session.type).toBe('Bind');
  });

  it('maps missing permissions to NoDialPermission / NoBindPermission', async () => {
    const client = await clientFor(net.identities.client.file);
    const svc = await client.getService(net.services.plain);
    const outsider = await clientFor(net.identities.outsider.file);
    const dial = await outsider.createSession(svc.id, 'Dial').catch((e: unknown) => e);
    expect(dial).toBeInstanceOf(NoDialPermissionError);
    expect((dial as NoDialPermissionError).code).toBe('ZITI_NO_PERMISSION');
    expect((dial as NoDialPermissionError).permission).toBe('Dial');
    expect((dial as Error).message).toContain(net.identities.outsider.name);
    const bind = await client.createSession(svc.id, 'Bind').catch((e: unknown) => e);
    expect(bind).toBeInstanceOf(NoBindPermissionError);
    expect((bind as NoBindPermissionError).permission).toBe('Bind');
  });

  it('reports an unknown service (or one hidden by policy) as ServiceNotFound', async () => {
    const ctrl = await clientFor(net.identities.client.file);
    const err = await ctrl.getService('no-such-service-here').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceNotFoundError);
    expect((err as Error).message).toContain('"no-such-service-here"');
    const outsider = await clientFor(net.identities.outsider.file);
    await expect(outsider.getService(net.services.plain)).rejects.toBeInstanceOf(ServiceNotFoundError);
  });

  // A legacy API session can be deleted with DELETE /current-api-session; an OIDC one (v1.7.2) cannot (404).
  it('authenticates again, once, when the controller drops the (legacy) API session', async () => {
    const ctrl = await clientFor(net.identities.client.file, 'legacy');
    const first = await ctrl.authenticate();
    await deleteApiSession(ctrl.apiUrl, first, ctrl.identity);
    const svc = await ctrl.getService(net.services.plain);
    expect(svc.name).toBe(net.services.plain);
    expect(ctrl.currentApiSession()!.token).not.toBe(first.token);
  });

  it('reports a wrong controller port as ControllerUnreachable naming the URL', async () => {
    const real = await loadIdentity(net.identities.client.file);
    const port = await closedPort();
    const wrong = new URL(real.ztAPI.href);
    wrong.port = String(port);
    const moved: ZitiIdentity = identityFromPem({ ...real, ztAPI: wrong, ztAPIs: [] });
    const ctrl = new ControllerClient(moved, { timeoutMs: 5_000 });
    clients.push(ctrl);
    const err = await ctrl.authenticate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControllerUnreachableError);
    expect((err as ControllerUnreachableError).url).toBe(wrong.origin);
  });

  it('enrolls an identity from its one-time-token JWT and authenticates with the result', async () => {
    // A dedicated identity rather than net.fresh: a shared or long-lived test network may have used that token.
    const name = `ralph-ctrl-enroll-${process.pid}-${Date.now()}`;
    const jwtFile = join(dir, `${name}.jwt`);
    await net.ziti(['edge', 'create', 'identity', name, '-a', 'ralph-clients', '-o', jwtFile]);
    try {
      const out = join(dir, 'enrolled.json');
      const identity = await enrollWithJwt(jwtFile, out);
      expect((await stat(out)).mode & 0o777).toBe(0o600);
      const reloaded = await loadIdentity(out);
      expect(reloaded.ztAPI.href).toBe(`${net.ctrlUrl}/edge/client/v1`);
      expect(reloaded.cert).toBe(identity.cert);
      const ctrl = await clientFor(out);
      expect((await ctrl.authenticate()).identityName).toBe(name);
      const again = await enrollWithJwt(jwtFile, join(dir, 'again.json')).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(EnrollmentFailedError);
      expect((again as Error).message).toMatch(/INVALID_ENROLLMENT_TOKEN/);
    } finally {
      await net.ziti(['edge', 'delete', 'identity', name]);
    }
  });

  it('reads the fresh enrollment token of the network', async () => {
    const jwt = decodeEnrollmentJwt(await readEnrollmentToken(net.fresh.jwtFile));
    expect(jwt.claims.em).toBe('ott');
    expect(checkEnrollmentJwt(jwt).origin).toBe(new URL(net.ctrlUrl).origin);
  });
});

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Logs the API session out behind the client's back, as an expiry or an administrator would. */
async function deleteApiSession(api: URL, session: ApiSessionDetail, identity: ZitiIdentity): Promise<void> {
  const headers: Record<string, string> =
    session.method === 'oidc'
      ? { authorization: `Bearer ${session.token}` }
      : { 'zt-session': session.token };
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      new URL(`${api.href}/current-api-session`),
      { method: 'DELETE', headers, ...identity.tlsOptions() },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
  expect(status).toBe(200);
}
