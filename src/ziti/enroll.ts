/**
 * One-time-token enrollment: turn an enrollment JWT into an identity file.
 *
 * 1. Decode the token; its issuer is the controller. Check algorithm, method (`ott`) and expiry.
 * 2. First contact: `GET <client API>/.well-known/est/cacerts` without trusting any CA yet. The token must be
 *    signed by the key of the TLS certificate that controller presented, which proves it issued the token.
 * 3. Parse the CA bundle (base64 PKCS#7) and from now on trust only it.
 * 4. Generate an EC P-256 key and CSR, `POST <client API>/enroll?method=ott&token=<jti>` with the CSR
 *    (`Content-Type: application/x-pem-file`) over TLS verified against the bundle; the answer holds the cert.
 * 5. Write the identity JSON (mode 0600).
 */
import { X509Certificate } from 'node:crypto';
import { access } from 'node:fs/promises';
import type { DetailedPeerCertificate } from 'node:tls';
import { ControllerUnreachableError, EnrollmentFailedError, ZitiError } from './errors.js';
import { identityFromPem, saveIdentity, type ZitiIdentity } from './identity.js';
import { parseCaBundle } from './controller/cacerts.js';
import { generateKeyAndCsr } from './controller/csr.js';
import { errorDetail, isRecord, jsonBody, str } from './controller/envelope.js';
import { DEFAULT_TIMEOUT_MS, httpsRequest, type HttpResponse } from './controller/http.js';
import { clientApiUrl } from './controller/info.js';
import {
  checkEnrollmentJwt,
  decodeEnrollmentJwt,
  readEnrollmentToken,
  verifyJwtSignature,
  type EnrollmentJwt,
} from './controller/jwt.js';
import { pemBlocks } from './controller/pem.js';

export interface EnrollOptions {
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Clock for the token expiry check (tests). */
  now?: Date;
}

/** Enrolls with a one-time token (the JWT itself or a file holding it) and writes the identity to `outFile`. */
export async function enrollWithJwt(
  jwtPathOrString: string,
  outFile: string,
  options: EnrollOptions = {},
): Promise<ZitiIdentity> {
  if (await exists(outFile)) {
    throw new EnrollmentFailedError(`${outFile} already exists; choose another file or remove it first`);
  }
  const jwt = decodeEnrollmentJwt(await readEnrollmentToken(jwtPathOrString));
  const issuer = checkEnrollmentJwt(jwt, options.now);
  const api = clientApiUrl(issuer);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const ca = await fetchTrustedCaBundle(api, jwt, timeoutMs);
  const { keyPem, csrPem } = await generateKeyAndCsr(jwt.claims.sub);
  const certPem = await submitCsr(api, jwt, csrPem, ca, timeoutMs);

  let identity: ZitiIdentity;
  try {
    identity = identityFromPem(
      { file: outFile, ztAPI: api, cert: certPem, key: keyPem, ca },
      { now: options.now },
    );
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new EnrollmentFailedError(`the controller returned an unusable certificate (${msg})`, {
      cause: err,
    });
  }
  await saveIdentity(outFile, identity);
  return identity;
}

async function fetchTrustedCaBundle(api: URL, jwt: EnrollmentJwt, timeoutMs: number): Promise<string[]> {
  const url = new URL(`${api.href}/.well-known/est/cacerts`);
  const res = await httpsRequest({
    url,
    method: 'GET',
    headers: { accept: 'application/pkcs7-mime' },
    tls: { rejectUnauthorized: false },
    timeoutMs,
  });
  if (!signedByPresentedCert(jwt, res.peerCertificate)) {
    throw new EnrollmentFailedError(
      `the token's signature does not match the certificate presented by ${api.origin}; it was not issued by this controller`,
    );
  }
  if (res.status !== 200) {
    throw new EnrollmentFailedError(`${url.href} answered ${res.status}: ${errorDetail(res).message}`);
  }
  let ca: string[];
  try {
    ca = parseCaBundle(res.body.toString('utf8'));
  } catch (err) {
    throw new EnrollmentFailedError(
      `cannot parse the CA bundle from ${url.href} (${(err as Error).message})`,
      { cause: err },
    );
  }
  if (ca.length === 0) throw new EnrollmentFailedError(`the CA bundle from ${url.href} is empty`);
  return ca;
}

/** The controller signs enrollment tokens with its TLS server key; accept the leaf or, failing that, its issuers. */
function signedByPresentedCert(jwt: EnrollmentJwt, peer: DetailedPeerCertificate | undefined): boolean {
  const seen = new Set<string>();
  for (
    let cert = peer;
    cert && cert.raw && !seen.has(cert.fingerprint256) && seen.size < 8;
    cert = cert.issuerCertificate
  ) {
    seen.add(cert.fingerprint256);
    if (verifyJwtSignature(jwt, new X509Certificate(cert.raw).publicKey)) return true;
  }
  return false;
}

async function submitCsr(
  api: URL,
  jwt: EnrollmentJwt,
  csrPem: string,
  ca: string[],
  timeoutMs: number,
): Promise<string> {
  const url = new URL(`${api.href}/enroll`);
  url.searchParams.set('method', 'ott');
  url.searchParams.set('token', jwt.claims.jti);
  let res: HttpResponse;
  try {
    res = await httpsRequest({
      url,
      method: 'POST',
      headers: {
        'content-type': 'application/x-pem-file',
        accept: 'application/json, application/x-pem-file',
      },
      body: csrPem,
      tls: { ca },
      timeoutMs,
    });
  } catch (err) {
    if (err instanceof ControllerUnreachableError && /not trusted/.test(err.message)) {
      throw new EnrollmentFailedError(
        `the certificate of ${api.origin} does not verify against its CA bundle (${err.message})`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
  if (res.status !== 200) {
    const detail = errorDetail(res);
    const hint =
      detail.code === 'INVALID_ENROLLMENT_TOKEN'
        ? 'the token was already used or revoked; ask for a new one'
        : undefined;
    throw new EnrollmentFailedError(
      `${url.origin}${url.pathname} answered ${res.status}${detail.code ? ` ${detail.code}` : ''}: ${detail.message}`,
      { hint },
    );
  }
  return certificateFrom(res);
}

function certificateFrom(res: HttpResponse): string {
  const body = jsonBody(res);
  const cert = isRecord(body) && isRecord(body.data) ? str(body.data.cert) : res.body.toString('utf8');
  if (cert === undefined || pemBlocks(cert, 'CERTIFICATE').length === 0) {
    throw new EnrollmentFailedError('the enrollment answer holds no PEM certificate');
  }
  return cert;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new ZitiError('ZITI_IO', `cannot check ${path} (${(err as Error).message})`, { cause: err });
  }
}
