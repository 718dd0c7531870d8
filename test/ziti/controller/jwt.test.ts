import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkEnrollmentJwt,
  decodeEnrollmentJwt,
  readEnrollmentToken,
  verifyJwtSignature,
} from '../../../src/ziti/controller/jwt.js';
import { EnrollmentFailedError } from '../../../src/ziti/errors.js';
import { issue, makeCa, type Issued } from '../identity/pki.js';
import { signJwt } from './jwt-sign.js';

const now = Math.floor(Date.now() / 1000);
const claims = {
  iss: 'https://ctrl.example:1280/',
  sub: 'AbCdEf123',
  jti: '5bd9b6a4-8a8e-4c6e-b1b5-0d0c3a8e2f10',
  em: 'ott',
  exp: now + 3600,
  iat: now,
  aud: [''],
};

let dir: string;
let ca: Issued;
let server: Issued;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ziti-jwt-'));
  ca = await makeCa();
  server = await issue(ca, { cn: 'ctrl.example', serverNames: ['ctrl.example'] });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function failure(fn: () => unknown): EnrollmentFailedError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EnrollmentFailedError);
    return err as EnrollmentFailedError;
  }
  throw new Error('expected an EnrollmentFailedError');
}

describe('enrollment JWT', () => {
  it('decodes the claims and verifies an ES256 signature against the signing certificate', () => {
    const token = signJwt(claims, createPrivateKey(server.keyPem));
    const jwt = decodeEnrollmentJwt(token);
    expect(jwt.header.alg).toBe('ES256');
    expect(jwt.claims).toMatchObject({
      iss: claims.iss,
      sub: claims.sub,
      jti: claims.jti,
      em: 'ott',
      exp: claims.exp,
    });
    expect(checkEnrollmentJwt(jwt).href).toBe('https://ctrl.example:1280/');
    expect(verifyJwtSignature(jwt, new X509Certificate(server.certPem).publicKey)).toBe(true);
    expect(verifyJwtSignature(jwt, new X509Certificate(ca.certPem).publicKey)).toBe(false);
  });

  it('detects a tampered payload', () => {
    const token = signJwt(claims, createPrivateKey(server.keyPem));
    const [h, , s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url');
    const jwt = decodeEnrollmentJwt(`${h}.${forged}.${s}`);
    expect(verifyJwtSignature(jwt, new X509Certificate(server.certPem).publicKey)).toBe(false);
  });

  it('verifies RS256 tokens', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwt = decodeEnrollmentJwt(signJwt(claims, privateKey, 'RS256'));
    expect(verifyJwtSignature(jwt, publicKey)).toBe(true);
    expect(verifyJwtSignature(jwt, new X509Certificate(server.certPem).publicKey)).toBe(false);
  });

  it('rejects expired tokens, other methods, unsigned tokens and non-https issuers', () => {
    const key = createPrivateKey(server.keyPem);
    const expired = decodeEnrollmentJwt(signJwt({ ...claims, exp: now - 60 }, key));
    expect(failure(() => checkEnrollmentJwt(expired)).message).toMatch(/token expired at/);
    const updb = decodeEnrollmentJwt(signJwt({ ...claims, em: 'updb' }, key));
    expect(failure(() => checkEnrollmentJwt(updb)).message).toMatch(/method "updb" is not supported/);
    const none = decodeEnrollmentJwt(
      signJwt(claims, key).replace(/^[^.]+/, Buffer.from('{"alg":"none"}').toString('base64url')),
    );
    expect(failure(() => checkEnrollmentJwt(none)).message).toMatch(/algorithm "none"/);
    const http = decodeEnrollmentJwt(signJwt({ ...claims, iss: 'http://ctrl.example:1280' }, key));
    expect(failure(() => checkEnrollmentJwt(http)).message).toMatch(/not https/);
  });

  it('rejects things that are not enrollment JWTs', () => {
    expect(failure(() => decodeEnrollmentJwt('hello')).message).toMatch(/not a JWT/);
    const noIss = signJwt({ ...claims, iss: undefined }, createPrivateKey(server.keyPem));
    expect(failure(() => decodeEnrollmentJwt(noIss)).message).toMatch(/no issuer/);
    const noJti = signJwt({ ...claims, jti: undefined }, createPrivateKey(server.keyPem));
    expect(failure(() => decodeEnrollmentJwt(noJti)).message).toMatch(/\(jti\)/);
  });

  it('reads the token from a string or a file', async () => {
    const token = signJwt(claims, createPrivateKey(server.keyPem));
    const file = join(dir, 'fresh.jwt');
    await writeFile(file, `${token}\n`);
    expect(await readEnrollmentToken(token)).toBe(token);
    expect(await readEnrollmentToken(file)).toBe(token);
    const err = await readEnrollmentToken(join(dir, 'missing.jwt')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnrollmentFailedError);
    expect((err as Error).message).toMatch(/cannot read enrollment token file .*missing.jwt \(ENOENT\)/);
  });
});
