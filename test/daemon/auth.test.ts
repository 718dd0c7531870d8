/**
 * Proof of possession of an enrolled identity's key, with identities enrolled on a real OpenZiti network
 * (controller and router v1.7.2): a good proof names the identity by its id (the certificate's CN); wrong
 * nonce, wrong service, another identity's key, a certificate from another CA (also one posing under the real
 * intermediate's name), an expired certificate and garbage are each refused with their own clear error. It
 * also shows why the daemon asks for a proof: the caller id a v1.7.2 router passes is whatever the client set.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthError,
  createNonce,
  proveIdentity,
  verifyProof,
  verifyProofRequest,
  type AuthFailure,
  type IdentityProof,
  type VerifyProofOptions,
} from '../../src/daemon/auth.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZitiContext } from '../../src/ziti/context.js';
import type { EdgeConn } from '../../src/ziti/edge/conn.js';
import { enrollWithJwt } from '../../src/ziti/enroll.js';
import { identityFromPem, loadIdentity, type ZitiIdentity } from '../../src/ziti/identity.js';
import { issue, makeCa } from '../ziti/identity/pki.js';
import { listening, pipeEcho, readAll, retry, uniqueName } from '../ziti/e2e/helpers.js';
import { acquireTestNetwork, startTestNetwork, zitiTestsEnabled, type TestNetwork } from '../ziti/network.js';

const SERVICE = 'ralph-vps1';

/** The controller's id for an identity name. */
async function identityId(net: TestNetwork, name: string): Promise<string> {
  const out = await net.ziti(['edge', 'list', 'identities', `name="${name}"`, '--output-json']);
  const rows = (JSON.parse(out) as { data: { id: string; name: string }[] }).data;
  expect(rows).toHaveLength(1);
  return rows[0]!.id;
}

function refusal(proof: IdentityProof, options: VerifyProofOptions): AuthError {
  let caught: unknown = null;
  try {
    verifyProof(proof, options);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AuthError);
  return caught as AuthError;
}

function expectRefused(
  proof: IdentityProof,
  options: VerifyProofOptions,
  reason: AuthFailure,
  message: RegExp,
): AuthError {
  const err = refusal(proof, options);
  expect(err.reason).toBe(reason);
  expect(err.message).toMatch(message);
  console.log(`[auth] refused (${reason}): ${err.message}`);
  return err;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `/C=US/O=.../CN=...` from a node:crypto subject (one `K=V` per line). */
function opensslSubject(cert: X509Certificate): string {
  return '/' + cert.subject.split('\n').join('/');
}

describe.skipIf(!zitiTestsEnabled())('proof of an enrolled identity', () => {
  let net: TestNetwork;
  let dir: string;
  let daemon: ZitiIdentity;
  let client: ZitiIdentity;
  let outsider: ZitiIdentity;
  let options: VerifyProofOptions;

  beforeAll(async () => {
    net = await acquireTestNetwork();
    dir = mkdtempSync(join(tmpdir(), 'ralph-auth-'));
    daemon = await loadIdentity(net.identities.server.file);
    client = await loadIdentity(net.identities.client.file);
    outsider = await loadIdentity(net.identities.outsider.file);
    options = { nonce: createNonce(), service: SERVICE, caBundle: daemon.ca };
  });

  afterAll(async () => {
    await net?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('accepts a good proof and names the caller by its identity id, the certificate CN', async () => {
    const id = await identityId(net, net.identities.client.name);
    expect(id).not.toBe(net.identities.client.name);
    const leaf = new X509Certificate(client.cert);
    expect(leaf.subject.split('\n')).toContain(`CN=${id}`);

    const verified = verifyProof(proveIdentity(client, options.nonce, SERVICE), options);
    expect(verified.identity).toBe(id);
    expect(verified.notAfter.getTime()).toBe(client.notAfter.getTime());
    // An RSA identity of the same network works the same way (the client's key is EC).
    expect(net.identities.client.keyAlg).toBe('EC');
    expect(net.identities.outsider.keyAlg).toBe('RSA');
    // The same check in the shape the daemon's router calls it.
    const request = {
      ...proveIdentity(client, options.nonce, SERVICE),
      service: SERVICE,
      nonce: options.nonce,
    };
    expect(verifyProofRequest({ ...request, ca: daemon.ca }).identity).toBe(id);
    expect(() => verifyProofRequest({ ...request, nonce: createNonce(), ca: daemon.ca })).toThrow(AuthError);
    const other = verifyProof(proveIdentity(outsider, options.nonce, SERVICE), options);
    expect(other.identity).toBe(await identityId(net, net.identities.outsider.name));
    console.log(`[auth] ${net.identities.client.name} proved it is ${verified.identity}`);
  });

  it('makes a fresh nonce each time: 32 random bytes, base64url', () => {
    const a = createNonce();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(createNonce()).not.toBe(a);
  });

  it('refuses a proof for another nonce or another service', () => {
    const replayed = proveIdentity(client, createNonce(), SERVICE);
    expectRefused(replayed, options, 'BAD_SIGNATURE', /nonce and service/);
    const elsewhere = proveIdentity(client, options.nonce, 'ralph-vps2');
    expectRefused(elsewhere, options, 'BAD_SIGNATURE', /nonce and service/);
  });

  it("refuses a certificate signed for with another identity's key", () => {
    const stolen = {
      certificate: client.cert,
      signature: proveIdentity(outsider, options.nonce, SERVICE).signature,
    };
    expectRefused(stolen, options, 'BAD_SIGNATURE', /certificate's key/);
    const tamper = proveIdentity(client, options.nonce, SERVICE);
    const bytes = Buffer.from(tamper.signature, 'base64');
    bytes[bytes.length - 1]! ^= 1;
    expectRefused(
      { ...tamper, signature: bytes.toString('base64') },
      options,
      'BAD_SIGNATURE',
      /certificate's key/,
    );
  });

  it('refuses a certificate from another CA, even one with the same id as CN', async () => {
    const id = await identityId(net, net.identities.client.name);
    const ca = await makeCa('Not The Network CA');
    const forged = await issue(ca, { cn: id });
    const impostor = (cert: string) =>
      identityFromPem({
        file: join(dir, 'impostor.json'),
        ztAPI: client.ztAPI,
        cert,
        key: forged.keyPem,
        ca: ca.certPem,
      });
    // The leaf alone: nothing the daemon trusts issued it.
    expectRefused(
      proveIdentity(impostor(forged.certPem), options.nonce, SERVICE),
      options,
      'UNTRUSTED_CERTIFICATE',
      new RegExp(`^certificate "${id}" was not issued by a certificate authority this daemon trusts$`),
    );
    // With its CA: the chain holds together but ends at a CA the daemon does not trust.
    expectRefused(
      proveIdentity(impostor(forged.certPem + ca.certPem), options.nonce, SERVICE),
      options,
      'UNTRUSTED_CERTIFICATE',
      /^certificate "Not The Network CA" was not issued by a certificate authority this daemon trusts$/,
    );
  });

  it("refuses a chain through a CA posing under the real intermediate's name", () => {
    const real = client.cert.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g)!;
    const intermediate = new X509Certificate(real[1]!);
    const leaf = new X509Certificate(real[0]);
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '30',
      ].concat(
        ['-keyout', 'fake-ca.key', '-out', 'fake-ca.pem', '-subj', opensslSubject(intermediate)],
        ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'],
      ),
      dir,
    );
    openssl(
      ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat([
        '-keyout',
        'leaf.key',
        '-out',
        'leaf.csr',
        '-subj',
        opensslSubject(leaf),
      ]),
      dir,
    );
    writeFileSync(join(dir, 'leaf.ext'), 'extendedKeyUsage=clientAuth\n');
    openssl(
      [
        'x509',
        '-req',
        '-in',
        'leaf.csr',
        '-CA',
        'fake-ca.pem',
        '-CAkey',
        'fake-ca.key',
        '-CAcreateserial',
      ].concat(['-days', '30', '-extfile', 'leaf.ext', '-out', 'leaf.pem']),
      dir,
    );
    const fakeLeaf = readFileSync(join(dir, 'leaf.pem'), 'utf8');
    expect(new X509Certificate(fakeLeaf).issuer).toBe(leaf.issuer);
    const impostor = identityFromPem({
      file: join(dir, 'posing.json'),
      ztAPI: client.ztAPI,
      // The fake leaf, then the network's real intermediate, which the fake leaf names as its issuer.
      cert: fakeLeaf + real[1]!,
      key: readFileSync(join(dir, 'leaf.key'), 'utf8'),
      ca: readFileSync(join(dir, 'fake-ca.pem'), 'utf8'),
    });
    expectRefused(
      proveIdentity(impostor, options.nonce, SERVICE),
      options,
      'UNTRUSTED_CERTIFICATE',
      /was not issued by a certificate authority this daemon trusts/,
    );
  });

  it('refuses a CA certificate in place of an identity certificate', () => {
    const caPem = daemon.ca[daemon.ca.length - 1]!;
    expectRefused(
      { certificate: caPem, signature: 'AAAA' },
      options,
      'NOT_A_CLIENT_CERTIFICATE',
      /is a CA certificate, not an identity's/,
    );
  });

  it('refuses a certificate outside its validity period', () => {
    const proof = proveIdentity(client, options.nonce, SERVICE);
    const after = new Date(client.notAfter.getTime() + 1000);
    expectRefused(proof, { ...options, now: after }, 'EXPIRED', /expired at/);
    const before = new Date(Date.parse(new X509Certificate(client.cert).validFrom) - 60_000);
    expectRefused(proof, { ...options, now: before }, 'NOT_YET_VALID', /is not valid before/);
  });

  it('refuses garbage with a clear error', () => {
    const good = proveIdentity(client, options.nonce, SERVICE);
    const cases: [IdentityProof, AuthFailure, RegExp][] = [
      [{ ...good, certificate: '' }, 'BAD_CERTIFICATE', /^no certificate was sent$/],
      [{ ...good, certificate: 'hello' }, 'BAD_CERTIFICATE', /^no PEM certificate in what was sent$/],
      [
        {
          ...good,
          certificate: '-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n',
        },
        'BAD_CERTIFICATE',
        /^certificate 1 of the chain cannot be parsed$/,
      ],
      [{ ...good, certificate: 'x'.repeat(70_000) }, 'BAD_CERTIFICATE', /over 65536 characters/],
      [{ ...good, certificate: client.cert.repeat(5) }, 'BAD_CERTIFICATE', /10 certificates; at most 8/],
      [{ ...good, signature: '' }, 'BAD_SIGNATURE', /^no signature was sent$/],
      [{ ...good, signature: 'not base64 !!' }, 'BAD_SIGNATURE', /not base64/],
      [{ ...good, signature: 'AAAA' }, 'BAD_SIGNATURE', /certificate's key/],
      [{ certificate: 42, signature: null } as unknown as IdentityProof, 'BAD_CERTIFICATE', /no certificate/],
    ];
    for (const [proof, reason, message] of cases) expectRefused(proof, options, reason, message);
  });

  it('answers as the protocol error UNAUTHENTICATED (1013)', () => {
    const err = refusal(proveIdentity(client, createNonce(), SERVICE), options).toRpcError();
    expect(err.code).toBe(ErrorCode.UNAUTHENTICATED);
    expect(err.code).toBe(1013);
    expect(err.message).toMatch(/^authentication failed: the signature was not made/);
  });

  it('shows the caller id a v1.7.2 router passes is whatever the dialing client set', async () => {
    const host = await ZitiContext.fromIdentityFile(net.identities.server.file);
    const dialer = await ZitiContext.fromIdentityFile(net.identities.client.file);
    try {
      const terminator = uniqueName('auth-callerid');
      const server = await host.bind(net.services.plain, { terminatorIdentity: terminator });
      const accepted: EdgeConn[] = [];
      server.on('connection', (conn) => {
        accepted.push(conn);
        pipeEcho(conn);
      });
      await listening(server);
      const conn = await retry(20, 500, () =>
        dialer.dial(net.services.plain, {
          terminatorIdentity: terminator,
          timeoutMs: 5_000,
          callerId: net.identities.server.name,
        }),
      );
      const answer = readAll(conn, 20_000);
      conn.end(Buffer.from('who am i'));
      expect((await answer).toString()).toBe('who am i');
      const hosted = accepted.find((c) => c.circuitId === conn.circuitId);
      // The client is ralph-client, but the hosting side is told it is ralph-server.
      expect(hosted?.callerId).toBe(net.identities.server.name);
    } finally {
      await dialer.close();
      await host.close();
    }
  }, 90_000);
});

describe.skipIf(!zitiTestsEnabled())('proof with a certificate that really expired', () => {
  let net: TestNetwork;
  let dir: string;

  beforeAll(async () => {
    // shortenCertificate restarts the controller, so this network is this file's own.
    net = await startTestNetwork({ timeoutMs: 180_000 });
    dir = mkdtempSync(join(tmpdir(), 'ralph-auth-expired-'));
  }, 240_000);

  afterAll(async () => {
    await net?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a proof once the identity certificate the controller issued has expired', async () => {
    const daemon = await loadIdentity(net.identities.server.file);
    const name = uniqueName('ralph-auth-short');
    const jwt = join(dir, `${name}.jwt`);
    await net.ziti(['edge', 'create', 'identity', name, '-a', 'ralph-clients', '-o', jwt]);
    const enrolled = await enrollWithJwt(jwt, join(dir, `${name}.json`));
    const chain = await net.shortenCertificate(name, 20);
    const short = identityFromPem({ ...enrolled, ztAPIs: enrolled.ztAPIs, cert: chain, key: enrolled.key });
    const options = { nonce: createNonce(), service: SERVICE, caBundle: daemon.ca };
    const lifeMs = short.notAfter.getTime() - Date.now();
    console.log(`[auth] short certificate expires ${short.notAfter.toISOString()} (${lifeMs} ms from now)`);
    expect(lifeMs).toBeLessThan(25_000);

    // Within its lifetime it is accepted, as the same identity as the enrolled certificate.
    const proof = proveIdentity(short, options.nonce, SERVICE);
    const inside = { ...options, now: new Date(short.notAfter.getTime() - 1_000) };
    expect(verifyProof(proof, inside).identity).toBe(enrolled.name);

    await sleep(Math.max(0, short.notAfter.getTime() - Date.now()) + 1_500);
    expectRefused(proveIdentity(short, options.nonce, SERVICE), options, 'EXPIRED', /expired at/);
  }, 180_000);
});
