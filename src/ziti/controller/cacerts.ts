/**
 * The controller's CA bundle, served at `GET <client API>/.well-known/est/cacerts` as base64 PKCS#7
 * (`application/pkcs7-mime`, EST RFC 7030 style): a degenerate SignedData that only carries certificates.
 */
import { X509Certificate, X509Certificates } from '@peculiar/x509';
import { derToPem, pemBlocks } from './pem.js';

/** PEM certificates out of a cacerts answer (base64 PKCS#7, PEM PKCS#7 or a plain PEM bundle). */
export function parseCaBundle(body: string): string[] {
  const text = body.trim();
  if (text.includes('-----BEGIN CERTIFICATE-----')) return pemBlocks(text, 'CERTIFICATE');
  const input = text.includes('-----BEGIN') ? text : Buffer.from(text.replace(/\s+/g, ''), 'base64');
  const certs = new X509Certificates(input instanceof Buffer ? new Uint8Array(input) : input);
  // X509Certificates is an Array subclass: map over a plain array so the result is plain strings.
  return Array.from(certs, (c) => derToPem(new Uint8Array(c.rawData), 'CERTIFICATE'));
}

/** A base64 PKCS#7 bundle of the given PEM certificates (the inverse of parseCaBundle; used by tests and tools). */
export function encodeCaBundle(pems: string[]): string {
  const certs = new X509Certificates(pems.map((p) => new X509Certificate(p)));
  return certs.export('base64');
}
