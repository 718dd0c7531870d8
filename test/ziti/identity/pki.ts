/** A throwaway PKI for tests: a CA, client and server certificates with real EC P-256 keys. */
import { createPrivateKey, webcrypto } from 'node:crypto';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;
import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  X509CertificateGenerator,
  type X509Certificate,
} from '@peculiar/x509';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;
let serial = 1;

export interface Issued {
  cert: X509Certificate;
  certPem: string;
  keyPem: string;
  keys: CryptoKeyPair;
}

async function keyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
}

async function keyPem(keys: CryptoKeyPair): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    .export({ type: 'sec1', format: 'pem' })
    .toString();
}

export async function makeCa(name = 'Test Root CA'): Promise<Issued> {
  const keys = await keyPair();
  const cert = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: (serial++).toString(16).padStart(2, '0'),
      name: `CN=${name}`,
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 365 * DAY),
      keys,
      signingAlgorithm: ALG,
      extensions: [
        new BasicConstraintsExtension(true, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      ],
    },
    webcrypto,
  );
  return { cert, certPem: cert.toString('pem') + '\n', keyPem: await keyPem(keys), keys };
}

export interface IssueOptions {
  cn: string;
  notBefore?: Date;
  notAfter?: Date;
  /** DNS names / IPs for a server certificate. */
  serverNames?: string[];
}

export async function issue(ca: Issued, options: IssueOptions): Promise<Issued> {
  const keys = await keyPair();
  const server = options.serverNames !== undefined;
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: (serial++).toString(16).padStart(2, '0'),
      subject: `CN=${options.cn}`,
      issuer: ca.cert.subject,
      notBefore: options.notBefore ?? new Date(Date.now() - DAY),
      notAfter: options.notAfter ?? new Date(Date.now() + 30 * DAY),
      signingKey: ca.keys.privateKey,
      publicKey: keys.publicKey,
      signingAlgorithm: ALG,
      extensions: [
        new BasicConstraintsExtension(false, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyAgreement, true),
        new ExtendedKeyUsageExtension([server ? ExtendedKeyUsage.serverAuth : ExtendedKeyUsage.clientAuth]),
        ...(server
          ? [
              new SubjectAlternativeNameExtension(
                options.serverNames!.map((n) =>
                  /^[\d.]+$/.test(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n },
                ),
              ),
            ]
          : []),
      ],
    },
    webcrypto,
  );
  return { cert, certPem: cert.toString('pem') + '\n', keyPem: await keyPem(keys), keys };
}

/** Signs a CSR-less certificate for a given public key (what a controller does at enrollment). */
export async function issueForKey(ca: Issued, cn: string, publicKey: CryptoKey): Promise<string> {
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: (serial++).toString(16).padStart(2, '0'),
      subject: `CN=${cn}`,
      issuer: ca.cert.subject,
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 30 * DAY),
      signingKey: ca.keys.privateKey,
      publicKey,
      signingAlgorithm: ALG,
      extensions: [new ExtendedKeyUsageExtension([ExtendedKeyUsage.clientAuth])],
    },
    webcrypto,
  );
  return cert.toString('pem') + '\n';
}
