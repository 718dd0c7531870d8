/** Small PEM helpers shared by identity loading and enrollment. */
import { X509Certificate } from 'node:crypto';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

/** Every PEM block of the given type (e.g. `CERTIFICATE`) in `text`, each normalised to end with a newline. */
export function pemBlocks(text: string, type: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    if (match[1] === type) out.push(`${match[0].replace(/\r\n/g, '\n')}\n`);
  }
  return out;
}

/** Parses every certificate in a PEM bundle; throws the underlying parse error for a broken block. */
export function parseCertificates(text: string): X509Certificate[] {
  return pemBlocks(text, 'CERTIFICATE').map((block) => new X509Certificate(block));
}

/** The common name of a certificate subject (`CN=...`), or undefined. */
export function commonName(cert: X509Certificate): string | undefined {
  for (const line of cert.subject.split('\n')) {
    if (line.startsWith('CN=')) return line.slice(3);
  }
  return undefined;
}

/** DER bytes to a PEM block of the given type, 64 characters a line. */
export function derToPem(der: Uint8Array, type: string): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}
