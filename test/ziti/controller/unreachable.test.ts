/**
 * Failure paths that need no OpenZiti network: closed ports, silent peers, untrusted TLS, and an impostor that
 * presents a certificate other than the one that signed the enrollment token. All on loopback.
 */
import { createPrivateKey } from 'node:crypto';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControllerClient } from '../../../src/ziti/controller/client.js';
import { encodeCaBundle } from '../../../src/ziti/controller/cacerts.js';
import { enrollWithJwt } from '../../../src/ziti/enroll.js';
import { ControllerUnreachableError, EnrollmentFailedError } from '../../../src/ziti/errors.js';
import { identityFromPem, type ZitiIdentity } from '../../../src/ziti/identity.js';
import { issue, makeCa, type Issued } from '../identity/pki.js';
import { signJwt } from './jwt-sign.js';

let dir: string;
let ca: Issued;
let client: Issued;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ziti-unreachable-'));
  ca = await makeCa();
  client = await issue(ca, { cn: 'ralph-client' });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function identityFor(url: string): ZitiIdentity {
  return identityFromPem({
    file: join(dir, 'id.json'),
    ztAPI: url,
    cert: client.certPem,
    key: client.keyPem,
    ca: ca.certPem,
  });
}

async function listen(server: Server | HttpsServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

async function closeServer(server: Server | HttpsServer): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
}

describe('ControllerClient against an unreachable controller', () => {
  it('reports a refused connection as ControllerUnreachable naming the URL', async () => {
    const probe = createNetServer();
    const port = await listen(probe);
    await closeServer(probe);
    const ctrl = new ControllerClient(identityFor(`https://127.0.0.1:${port}`));
    try {
      const err = await rejection(ctrl.authenticate());
      expect(err).toBeInstanceOf(ControllerUnreachableError);
      const e = err as ControllerUnreachableError;
      expect(e.code).toBe('ZITI_CONTROLLER_UNREACHABLE');
      expect(e.url).toBe(`https://127.0.0.1:${port}`);
      expect(e.message).toContain(`https://127.0.0.1:${port}`);
      expect(e.message).toContain('ECONNREFUSED');
    } finally {
      ctrl.close();
    }
  });

  it('gives up on a controller that never answers after the request timeout', async () => {
    const sockets: Socket[] = [];
    const silent = createNetServer((s) => sockets.push(s));
    const port = await listen(silent);
    const ctrl = new ControllerClient(identityFor(`https://127.0.0.1:${port}`), { timeoutMs: 300 });
    try {
      const err = await rejection(ctrl.version());
      expect(err).toBeInstanceOf(ControllerUnreachableError);
      expect((err as Error).message).toMatch(/no answer within 300 ms \(GET \/edge\/client\/v1\/version\)/);
    } finally {
      ctrl.close();
      for (const s of sockets) s.destroy();
      await closeServer(silent);
    }
  });

  it('refuses a controller whose certificate the identity CA does not sign', async () => {
    const otherCa = await makeCa('Other CA');
    const cert = await issue(otherCa, { cn: 'localhost', serverNames: ['127.0.0.1'] });
    const server = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end('{}'));
    const port = await listen(server);
    const ctrl = new ControllerClient(identityFor(`https://127.0.0.1:${port}`));
    try {
      const err = await rejection(ctrl.authenticate());
      expect(err).toBeInstanceOf(ControllerUnreachableError);
      expect((err as Error).message).toMatch(/TLS certificate is not trusted/);
    } finally {
      ctrl.close();
      server.closeAllConnections();
      await closeServer(server);
    }
  });
});

describe('enrollWithJwt safety checks', () => {
  it('refuses a controller whose TLS key did not sign the token', async () => {
    const realCtrl = await issue(ca, { cn: 'ctrl', serverNames: ['127.0.0.1'] });
    const impostor = await issue(ca, { cn: 'impostor', serverNames: ['127.0.0.1'] });
    let enrollCalls = 0;
    const server = createHttpsServer({ cert: impostor.certPem, key: impostor.keyPem }, (req, res) => {
      if (req.url?.startsWith('/edge/client/v1/enroll')) enrollCalls += 1;
      res.setHeader('content-type', 'application/pkcs7-mime');
      res.end(encodeCaBundle([ca.certPem]));
    });
    const port = await listen(server);
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: `https://127.0.0.1:${port}/`, sub: 'id1', jti: 'tok1', em: 'ott', exp: now + 600 };
    const token = signJwt(claims, createPrivateKey(realCtrl.keyPem));
    const out = join(dir, 'impostor.json');
    try {
      const err = await rejection(enrollWithJwt(token, out));
      expect(err).toBeInstanceOf(EnrollmentFailedError);
      expect((err as Error).message).toMatch(
        /signature does not match the certificate presented by https:\/\/127.0.0.1/,
      );
      expect(enrollCalls).toBe(0);
      await expect(stat(out)).rejects.toThrow(/ENOENT/);
    } finally {
      server.closeAllConnections();
      await closeServer(server);
    }
  });

  it('will not overwrite an existing identity file (the token is single-use)', async () => {
    const out = join(dir, 'exists.json');
    await writeFile(out, '{}');
    const err = await rejection(enrollWithJwt('a.b.c', out));
    expect(err).toBeInstanceOf(EnrollmentFailedError);
    expect((err as Error).message).toMatch(/exists\.json already exists/);
  });
});
