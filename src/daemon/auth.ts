/**
 * Proof that a caller holds an enrolled Ziti identity, for routers that do not vouch for the dialer (v1.7.2
 * passes a caller id the dialing client sets itself). The daemon sends a fresh nonce in `hello`; the client
 * answers with its certificate chain and a signature, made with the identity's private key, over
 * `ralph-daemon-auth/1\n<service>\n<nonce>`. The daemon checks that the chain leads to a CA of its own
 * identity's bundle (each link's issuer, signature, validity and CA flag), and that the signature verifies
 * with the leaf's key. Who called is the leaf's common name: the identity's id on the controller.
 *
 * The nonce binds the proof to one connection, the service name to one daemon: a proof seen by one daemon
 * cannot be replayed to another or later.
 */
import { X509Certificate, createPrivateKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { RpcError } from '../protocol/errors.js';
import { commonName, pemBlocks } from '../ziti/controller/pem.js';
import type { ZitiIdentity } from '../ziti/identity.js';

/** What the signature covers comes after this line, so a signature made for anything else never matches. */
export const AUTH_CONTEXT = 'ralph-daemon-auth/1';
/** Bound on the certificate chain a caller may send, in characters and in certificates. */
export const MAX_CERTIFICATE_CHARS = 64 * 1024;
export const MAX_CHAIN_LENGTH = 8;
export const MAX_SIGNATURE_CHARS = 2048;

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface IdentityProof {
  /** The caller's certificate chain in PEM, leaf first. */
  certificate: string;
  /** Base64 signature over `authMessage(service, nonce)` with the leaf's private key. */
  signature: string;
}

export interface VerifyProofOptions {
  /** The nonce this connection's `hello` carried. */
  nonce: string;
  /** The service this daemon binds. */
  service: string;
  /** Trusted CA certificates in PEM: the daemon's own identity's `ca`. */
  caBundle: readonly string[];
  now?: Date;
}

export interface VerifiedCaller {
  /** The leaf certificate's common name: the identity's id on the controller. */
  identity: string;
  notAfter: Date;
}

export type AuthFailure =
  | 'BAD_CERTIFICATE'
  | 'NOT_A_CLIENT_CERTIFICATE'
  | 'UNTRUSTED_CERTIFICATE'
  | 'EXPIRED'
  | 'NOT_YET_VALID'
  | 'BAD_SIGNATURE';

/** A proof that does not hold; `reason` says which check failed. */
export class AuthError extends Error {
  readonly reason: AuthFailure;

  constructor(reason: AuthFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthError';
    this.reason = reason;
  }

  /** The protocol error the daemon answers with. */
  toRpcError(): RpcError {
    return RpcError.of('UNAUTHENTICATED', `authentication failed: ${this.message}`);
  }
}

/** 32 random bytes, base64url: one per connection, sent in `hello`. */
export function createNonce(): string {
  return randomBytes(32).toString('base64url');
}

/** The bytes a proof signs. */
export function authMessage(service: string, nonce: string): Buffer {
  return Buffer.from(`${AUTH_CONTEXT}\n${service}\n${nonce}`, 'utf8');
}

/** Digest for node:crypto sign/verify: none for Edwards keys (they hash internally), else SHA-256. */
function digestFor(key: KeyObject): string | null {
  const type = key.asymmetricKeyType;
  return type === 'ed25519' || type === 'ed448' ? null : 'sha256';
}

/** Client side: the proof for `hello`'s nonce, made with the identity's key. */
export function proveIdentity(identity: ZitiIdentity, nonce: string, service: string): IdentityProof {
  const key = createPrivateKey(identity.key);
  const signature = sign(digestFor(key), authMessage(service, nonce), key).toString('base64');
  return { certificate: identity.cert, signature };
}

function describe(cert: X509Certificate): string {
  const cn = commonName(cert);
  return cn === undefined ? `certificate ${cert.serialNumber}` : `certificate "${cn}"`;
}

function parseChain(text: unknown): X509Certificate[] {
  if (typeof text !== 'string' || text.length === 0)
    throw new AuthError('BAD_CERTIFICATE', 'no certificate was sent');
  if (text.length > MAX_CERTIFICATE_CHARS)
    throw new AuthError(
      'BAD_CERTIFICATE',
      `the certificate chain is over ${MAX_CERTIFICATE_CHARS} characters`,
    );
  const blocks = pemBlocks(text, 'CERTIFICATE');
  if (blocks.length === 0) throw new AuthError('BAD_CERTIFICATE', 'no PEM certificate in what was sent');
  if (blocks.length > MAX_CHAIN_LENGTH)
    throw new AuthError(
      'BAD_CERTIFICATE',
      `the chain has ${blocks.length} certificates; at most ${MAX_CHAIN_LENGTH}`,
    );
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new AuthError('BAD_CERTIFICATE', `certificate ${i + 1} of the chain cannot be parsed`, {
        cause: err,
      });
    }
  });
}

function checkValidity(cert: X509Certificate, now: Date): void {
  if (now.getTime() < new Date(cert.validFrom).getTime())
    throw new AuthError(
      'NOT_YET_VALID',
      `${describe(cert)} is not valid before ${new Date(cert.validFrom).toISOString()}`,
    );
  if (now.getTime() > new Date(cert.validTo).getTime())
    throw new AuthError('EXPIRED', `${describe(cert)} expired at ${new Date(cert.validTo).toISOString()}`);
}

/** The certificate among `candidates` that issued `cert` (names, key ids, CA flag, key usage and signature). */
function issuerOf(cert: X509Certificate, candidates: X509Certificate[]): X509Certificate | undefined {
  return candidates.find(
    (c) => !c.raw.equals(cert.raw) && c.ca && cert.checkIssued(c) && cert.verify(c.publicKey),
  );
}

/**
 * Walks from the leaf up through the sent chain until it reaches a certificate of the trusted bundle; every
 * certificate on the way must be in its validity period and signed by the next, which must be a CA.
 */
function checkChain(chain: X509Certificate[], trusted: X509Certificate[], now: Date): void {
  const leaf = chain[0]!;
  const pool = [...chain.slice(1), ...trusted];
  let current = leaf;
  for (let depth = 0; depth <= MAX_CHAIN_LENGTH; depth++) {
    checkValidity(current, now);
    if (trusted.some((t) => t.raw.equals(current.raw))) return;
    const issuer = issuerOf(current, pool);
    if (issuer === undefined) {
      throw new AuthError(
        'UNTRUSTED_CERTIFICATE',
        `${describe(current)} was not issued by a certificate authority this daemon trusts`,
      );
    }
    current = issuer;
  }
  throw new AuthError('UNTRUSTED_CERTIFICATE', `the chain is longer than ${MAX_CHAIN_LENGTH} certificates`);
}

function checkLeaf(leaf: X509Certificate): string {
  if (leaf.ca)
    throw new AuthError(
      'NOT_A_CLIENT_CERTIFICATE',
      `${describe(leaf)} is a CA certificate, not an identity's`,
    );
  const usages = leaf.keyUsage as string[] | undefined;
  if (usages !== undefined && usages.length > 0 && !usages.includes(CLIENT_AUTH_OID))
    throw new AuthError(
      'NOT_A_CLIENT_CERTIFICATE',
      `${describe(leaf)} is not meant for client authentication`,
    );
  const cn = commonName(leaf);
  if (cn === undefined || cn === '')
    throw new AuthError('BAD_CERTIFICATE', 'the certificate has no common name to identify the caller by');
  return cn;
}

function checkSignature(leaf: X509Certificate, signature: unknown, message: Buffer): void {
  if (typeof signature !== 'string' || signature.length === 0)
    throw new AuthError('BAD_SIGNATURE', 'no signature was sent');
  if (signature.length > MAX_SIGNATURE_CHARS || !BASE64.test(signature))
    throw new AuthError('BAD_SIGNATURE', 'the signature is not base64 of a plausible length');
  let ok = false;
  try {
    ok = verify(digestFor(leaf.publicKey), message, leaf.publicKey, Buffer.from(signature, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new AuthError(
      'BAD_SIGNATURE',
      "the signature was not made with the certificate's key over this connection's nonce and service",
    );
  }
}

/** Checks a caller's proof; resolves to who it is, or throws an AuthError naming the check that failed. */
export function verifyProof(proof: IdentityProof, options: VerifyProofOptions): VerifiedCaller {
  const now = options.now ?? new Date();
  const chain = parseChain(proof.certificate);
  const trusted = options.caBundle
    .flatMap((pem) => pemBlocks(pem, 'CERTIFICATE'))
    .map((pem) => new X509Certificate(pem));
  const leaf = chain[0]!;
  const identity = checkLeaf(leaf);
  checkChain(chain, trusted, now);
  checkSignature(leaf, proof.signature, authMessage(options.service, options.nonce));
  return { identity, notAfter: new Date(leaf.validTo) };
}

/** A proof with what the daemon told the caller, as the daemon's router hands it over. */
export interface ProofRequest extends IdentityProof {
  service: string;
  nonce: string;
  /** The CA bundle of the daemon's own identity, one PEM each. */
  ca: readonly string[];
}

/** `verifyProof` in the shape of the router's proof hook: everything in one object, the clock now. */
export function verifyProofRequest(request: ProofRequest): VerifiedCaller {
  const { certificate, signature, service, nonce, ca } = request;
  return verifyProof({ certificate, signature }, { service, nonce, caBundle: ca });
}
