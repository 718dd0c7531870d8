/** A fresh EC P-256 key and a PKCS#10 certificate request for it, as the controller expects at enrollment. */
import { createPrivateKey, webcrypto } from 'node:crypto';
import { Pkcs10CertificateRequestGenerator } from '@peculiar/x509';

export interface KeyAndCsr {
  /** SEC1 `EC PRIVATE KEY` PEM (readable by every OpenZiti SDK). */
  keyPem: string;
  csrPem: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** Generates the key pair and a CSR whose subject common name is `commonName` (the identity id). */
export async function generateKeyAndCsr(commonName: string): Promise<KeyAndCsr> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const csr = await Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [commonName] }, { O: ['OpenZiti'] }],
    keys,
    signingAlgorithm: ALGORITHM,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({
    type: 'sec1',
    format: 'pem',
  });
  return { keyPem: keyPem.toString(), csrPem: csr.toString('pem') };
}
