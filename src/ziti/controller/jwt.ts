/**
 * Enrollment tokens: a JWT whose claims name the controller (`iss`), the method (`em`, e.g. `ott`), the one-time
 * token (`jti`) and the identity id (`sub`). The controller signs it with the key of its TLS server certificate,
 * so the signature is checked against the certificate the controller presents.
 */
import { constants, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { EnrollmentFailedError } from '../errors.js';
import { isRecord, str } from './envelope.js';

export interface EnrollmentClaims {
  iss: string;
  sub: string;
  jti: string;
  em: string;
  exp: number | undefined;
  iat: number | undefined;
  ctrls: string[];
}

export interface EnrollmentJwt {
  header: { alg: string; kid: string | undefined };
  claims: EnrollmentClaims;
  /** `base64url(header).base64url(payload)`: the bytes the signature covers. */
  signingInput: string;
  signature: Buffer;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

const ALGORITHMS: Record<string, { hash: string; kind: 'ec' | 'rsa' | 'pss' }> = {
  ES256: { hash: 'sha256', kind: 'ec' },
  ES384: { hash: 'sha384', kind: 'ec' },
  ES512: { hash: 'sha512', kind: 'ec' },
  RS256: { hash: 'sha256', kind: 'rsa' },
  RS384: { hash: 'sha384', kind: 'rsa' },
  RS512: { hash: 'sha512', kind: 'rsa' },
  PS256: { hash: 'sha256', kind: 'pss' },
  PS384: { hash: 'sha384', kind: 'pss' },
  PS512: { hash: 'sha512', kind: 'pss' },
};

/** Accepts the token itself or the path of a file holding it. */
export async function readEnrollmentToken(jwtPathOrString: string): Promise<string> {
  const trimmed = jwtPathOrString.trim();
  if (JWT_SHAPE.test(trimmed)) return trimmed;
  try {
    return (await readFile(jwtPathOrString, 'utf8')).trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new EnrollmentFailedError(`cannot read enrollment token file ${jwtPathOrString} (${code})`, {
      cause: err,
    });
  }
}

function b64urlJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch (err) {
    throw new EnrollmentFailedError(`the enrollment token's ${what} is not base64url JSON`, { cause: err });
  }
  if (!isRecord(value))
    throw new EnrollmentFailedError(`the enrollment token's ${what} is not a JSON object`);
  return value;
}

/** Decodes an enrollment JWT without trusting it yet. */
export function decodeEnrollmentJwt(token: string): EnrollmentJwt {
  const trimmed = token.trim();
  if (!JWT_SHAPE.test(trimmed))
    throw new EnrollmentFailedError('the enrollment token is not a JWT (header.payload.signature)');
  const [h, p, s] = trimmed.split('.') as [string, string, string];
  const header = b64urlJson(h, 'header');
  const payload = b64urlJson(p, 'payload');
  const alg = str(header.alg) ?? '';
  const iss = str(payload.iss);
  const sub = str(payload.sub);
  const jti = str(payload.jti);
  const em = str(payload.em);
  if (!iss)
    throw new EnrollmentFailedError('the enrollment token has no issuer (iss), so no controller address');
  if (!em) throw new EnrollmentFailedError('the enrollment token has no enrollment method (em)');
  if (!sub || !jti)
    throw new EnrollmentFailedError('the enrollment token lacks the identity id (sub) or token (jti)');
  const ctrls = Array.isArray(payload.ctrls)
    ? payload.ctrls.filter((c): c is string => typeof c === 'string')
    : [];
  return {
    header: { alg, kid: str(header.kid) },
    claims: {
      iss,
      sub,
      jti,
      em,
      exp: typeof payload.exp === 'number' ? payload.exp : undefined,
      iat: typeof payload.iat === 'number' ? payload.iat : undefined,
      ctrls,
    },
    signingInput: `${h}.${p}`,
    signature: Buffer.from(s, 'base64url'),
  };
}

/** Rejects tokens this SDK cannot use: unknown algorithm, method other than `ott`, expired, bad issuer URL. */
export function checkEnrollmentJwt(jwt: EnrollmentJwt, now: Date = new Date()): URL {
  if (ALGORITHMS[jwt.header.alg] === undefined) {
    throw new EnrollmentFailedError(
      `the enrollment token uses signature algorithm "${jwt.header.alg}", which is not accepted`,
    );
  }
  if (jwt.claims.em !== 'ott') {
    throw new EnrollmentFailedError(`enrollment method "${jwt.claims.em}" is not supported (only "ott")`);
  }
  if (jwt.claims.exp !== undefined && jwt.claims.exp * 1000 < now.getTime()) {
    const at = new Date(jwt.claims.exp * 1000).toISOString();
    throw new EnrollmentFailedError(`the enrollment token expired at ${at}`, {
      hint: 'ask the network administrator for a new enrollment token',
    });
  }
  let url: URL;
  try {
    url = new URL(jwt.claims.iss);
  } catch (err) {
    throw new EnrollmentFailedError(`the enrollment token's issuer "${jwt.claims.iss}" is not a URL`, {
      cause: err,
    });
  }
  if (url.protocol !== 'https:')
    throw new EnrollmentFailedError(`the enrollment token's issuer ${url.href} is not https`);
  return url;
}

/** True when `publicKey` made the token's signature. */
export function verifyJwtSignature(jwt: EnrollmentJwt, publicKey: KeyObject): boolean {
  const alg = ALGORITHMS[jwt.header.alg];
  if (alg === undefined) return false;
  const data = Buffer.from(jwt.signingInput, 'ascii');
  try {
    if (alg.kind === 'ec')
      return verify(alg.hash, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jwt.signature);
    if (alg.kind === 'pss') {
      const saltLength = constants.RSA_PSS_SALTLEN_DIGEST;
      return verify(
        alg.hash,
        data,
        { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength },
        jwt.signature,
      );
    }
    return verify(alg.hash, data, publicKey, jwt.signature);
  } catch {
    // A key of the wrong type for the algorithm cannot have made the signature.
    return false;
  }
}
