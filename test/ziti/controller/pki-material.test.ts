import { createPublicKey } from 'node:crypto';
import { Pkcs10CertificateRequest } from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { encodeCaBundle, parseCaBundle } from '../../../src/ziti/controller/cacerts.js';
import { generateKeyAndCsr } from '../../../src/ziti/controller/csr.js';
import { clientApiUrl } from '../../../src/ziti/controller/info.js';
import {
  refreshDelayMs,
  retryDelayMs,
  MIN_REFRESH_MS,
  RETRY_MAX_MS,
} from '../../../src/ziti/controller/refresh.js';
import { issue, makeCa } from '../identity/pki.js';

describe('CSR generation', () => {
  it('makes an EC P-256 key and a self-signed CSR naming the identity id', async () => {
    const { keyPem, csrPem } = await generateKeyAndCsr('AbCdEf123');
    expect(keyPem).toContain('-----BEGIN EC PRIVATE KEY-----');
    const csr = new Pkcs10CertificateRequest(csrPem);
    expect(csr.subjectName.getField('CN')).toEqual(['AbCdEf123']);
    expect(await csr.verify()).toBe(true);
    const fromKey = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
    expect(Buffer.from(csr.publicKey.rawData).equals(fromKey)).toBe(true);
    expect(createPublicKey(keyPem).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });
});

describe('CA bundle (PKCS#7)', () => {
  it('parses base64 PKCS#7 (also line-wrapped) and plain PEM bundles', async () => {
    const root = await makeCa('Root A');
    const inter = await issue(root, { cn: 'Intermediate' });
    const b64 = encodeCaBundle([root.certPem, inter.certPem]);
    const parsed = parseCaBundle(b64);
    expect(parsed).toEqual([root.certPem, inter.certPem]);
    expect(Object.getPrototypeOf(parsed)).toBe(Array.prototype);
    const wrapped = (b64.match(/.{1,64}/g) ?? []).join('\r\n') + '\n';
    expect(parseCaBundle(wrapped)).toEqual(parsed);
    expect(parseCaBundle(root.certPem + inter.certPem)).toEqual(parsed);
  });

  it('throws on garbage', () => {
    expect(() => parseCaBundle('bm90IGEgcGtjczc=')).toThrow();
  });
});

describe('client API URL', () => {
  it('adds /edge/client/v1 to a bare controller address and keeps an explicit path', () => {
    expect(clientApiUrl('https://ctrl:1280').href).toBe('https://ctrl:1280/edge/client/v1');
    expect(clientApiUrl('https://ctrl:1280/').href).toBe('https://ctrl:1280/edge/client/v1');
    expect(clientApiUrl('https://ctrl:1280/edge/client/v1/').href).toBe('https://ctrl:1280/edge/client/v1');
  });
});

describe('API session refresh timing', () => {
  const t0 = new Date('2030-01-01T00:00:00Z');
  it('refreshes between 1/2 and 5/6 of the granted lifetime', () => {
    expect(refreshDelayMs(1800, t0, t0, () => 0)).toBe(900_000);
    expect(refreshDelayMs(1800, t0, t0, () => 0.999999)).toBeLessThanOrEqual(1_500_000);
    expect(refreshDelayMs(1800, t0, t0, () => 0.999999)).toBeGreaterThan(1_499_000);
  });
  it('falls back to expiresAt and never goes below the minimum', () => {
    const later = new Date(t0.getTime() + 600_000);
    expect(refreshDelayMs(0, later, t0, () => 0)).toBe(300_000);
    expect(refreshDelayMs(0, t0, later, () => 0)).toBe(MIN_REFRESH_MS);
  });
  it('backs off retries and caps them', () => {
    expect(retryDelayMs(1)).toBeLessThan(retryDelayMs(2));
    expect(retryDelayMs(50)).toBe(RETRY_MAX_MS);
  });
});
