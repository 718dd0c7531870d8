import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityExpiredError, InvalidIdentityError } from '../../../src/ziti/errors.js';
import { loadIdentity, parseIdentity, saveIdentity } from '../../../src/ziti/identity.js';
import { issue, makeCa, type Issued } from './pki.js';

let dir: string;
let ca: Issued;
let client: Issued;
let other: Issued;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ziti-identity-'));
  ca = await makeCa();
  client = await issue(ca, { cn: 'ralph-client' });
  other = await issue(ca, { cn: 'someone-else' });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function inline(overrides: Record<string, unknown> = {}, id: Record<string, unknown> = {}): string {
  return JSON.stringify({
    ztAPI: 'https://ctrl.example:1280/edge/client/v1',
    id: { cert: `pem:${client.certPem}`, key: `pem:${client.keyPem}`, ca: `pem:${ca.certPem}`, ...id },
    ...overrides,
  });
}

async function writeJson(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

async function expectInvalid(p: Promise<unknown>, fragment: RegExp): Promise<InvalidIdentityError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidIdentityError);
  const invalid = err as InvalidIdentityError;
  expect(invalid.code).toBe('ZITI_INVALID_IDENTITY');
  expect(invalid.message).toMatch(fragment);
  return invalid;
}

describe('loadIdentity', () => {
  it('loads inline pem: material and exposes name, expiry and TLS options', async () => {
    const file = await writeJson('inline.json', inline());
    const id = await loadIdentity(file);
    expect(id.file).toBe(file);
    expect(id.ztAPI.href).toBe('https://ctrl.example:1280/edge/client/v1');
    expect(id.ztAPIs.map((u) => u.href)).toEqual(['https://ctrl.example:1280/edge/client/v1']);
    expect(id.name).toBe('ralph-client');
    expect(id.notAfter.getTime()).toBe(client.cert.notAfter.getTime());
    expect(id.ca).toHaveLength(1);
    const tls = id.tlsOptions();
    expect(tls.cert).toContain('-----BEGIN CERTIFICATE-----');
    expect(tls.key).toContain('PRIVATE KEY-----');
    expect(tls.ca).toEqual(id.ca);
  });

  it('reads file:// paths relative to the JSON file, plain paths and absolute file:/// paths', async () => {
    const sub = join(dir, 'files', 'material');
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, 'cert.pem'), client.certPem);
    await writeFile(join(sub, 'key.pem'), client.keyPem);
    await writeFile(join(sub, 'ca.pem'), ca.certPem + other.certPem);
    const text = JSON.stringify({
      ztAPI: 'https://127.0.0.1:1280',
      id: { cert: 'file://material/cert.pem', key: 'material/key.pem', ca: `file://${join(sub, 'ca.pem')}` },
    });
    const file = join(dir, 'files', 'id.json');
    await writeFile(file, text);
    const id = await loadIdentity(file);
    expect(id.name).toBe('ralph-client');
    expect(id.ca).toHaveLength(2);
  });

  it('accepts raw PEM without the pem: prefix and ztAPIs without ztAPI', async () => {
    const text = JSON.stringify({
      ztAPIs: ['https://a.example:1280/edge/client/v1', 'https://b.example:1280/edge/client/v1'],
      id: { cert: client.certPem, key: client.keyPem, ca: ca.certPem },
    });
    const id = await parseIdentity(text, join(dir, 'raw.json'));
    expect(id.ztAPI.host).toBe('a.example:1280');
    expect(id.ztAPIs).toHaveLength(2);
  });

  it('rejects malformed JSON naming the file', async () => {
    const file = await writeJson('broken.json', '{"ztAPI": "https://x", "id": {');
    const err = await expectInvalid(loadIdentity(file), /not valid JSON/);
    expect(err.message).toContain(file);
    expect(err.file).toBe(file);
  });

  it('rejects a missing file', async () => {
    await expectInvalid(loadIdentity(join(dir, 'nope.json')), /cannot read the file \(ENOENT\)/);
  });

  it('names each missing field', async () => {
    await expectInvalid(parseIdentity(JSON.stringify({ ztAPI: 'https://x' }), 'a.json'), /missing "id"/);
    await expectInvalid(parseIdentity(inline({ ztAPI: undefined }), 'b.json'), /missing "ztAPI"/);
    await expectInvalid(parseIdentity(inline({}, { key: undefined }), 'c.json'), /missing "id.key"/);
    await expectInvalid(parseIdentity(inline({}, { ca: '' }), 'd.json'), /missing "id.ca"/);
    await expectInvalid(parseIdentity(inline({ ztAPI: 'not a url' }), 'e.json'), /is not a URL/);
    await expectInvalid(parseIdentity(inline({ ztAPI: 'http://x:1280' }), 'f.json'), /must be an https/);
  });

  it('rejects a file:// path that does not exist', async () => {
    const text = inline({}, { cert: 'file://missing/cert.pem' });
    await expectInvalid(
      parseIdentity(text, join(dir, 'm.json')),
      /id.cert: cannot read .*missing\/cert.pem \(ENOENT\)/,
    );
  });

  it('rejects unparsable PEM', async () => {
    const lines = client.certPem.split('\n');
    lines[3] = 'AAAA' + (lines[3] ?? '').slice(4, 20);
    const corrupt = lines.join('\n');
    await expectInvalid(
      parseIdentity(inline({}, { cert: `pem:${corrupt}` }), 'x.json'),
      /unparsable certificate/,
    );
    await expectInvalid(
      parseIdentity(inline({}, { cert: 'pem:hello' }), 'y.json'),
      /id.cert holds no PEM certificate/,
    );
    const badKey = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n';
    await expectInvalid(
      parseIdentity(inline({}, { key: `pem:${badKey}` }), 'z.json'),
      /id.key is unparsable/,
    );
  });

  it('rejects an empty CA bundle', async () => {
    await expectInvalid(
      parseIdentity(inline({}, { ca: 'pem:\n' }), 'ca.json'),
      /CA bundle\) holds no PEM certificate/,
    );
  });

  it('rejects a key that does not match the certificate', async () => {
    await expectInvalid(
      parseIdentity(inline({}, { key: `pem:${other.keyPem}` }), 'k.json'),
      /does not match/,
    );
  });

  it('rejects an expired certificate with IdentityExpiredError', async () => {
    const old = await issue(ca, {
      cn: 'old-one',
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const text = inline({}, { cert: `pem:${old.certPem}`, key: `pem:${old.keyPem}` });
    const err = await parseIdentity(text, 'old.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdentityExpiredError);
    const expired = err as IdentityExpiredError;
    expect(expired.code).toBe('ZITI_IDENTITY_EXPIRED');
    expect(expired.notAfter.getTime()).toBe(old.cert.notAfter.getTime());
    expect(expired.message).toContain('old-one');
  });
});

describe('saveIdentity', () => {
  it('writes inline pem: JSON with mode 0600 that loads back to the same identity', async () => {
    const source = await parseIdentity(inline(), join(dir, 'src.json'));
    const out = join(dir, 'saved.json');
    await saveIdentity(out, source);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const back = await loadIdentity(out);
    expect(back.cert).toBe(source.cert);
    expect(back.key).toBe(source.key);
    expect(back.ca).toEqual(source.ca);
    expect(back.ztAPI.href).toBe(source.ztAPI.href);
  });
});

describe('tlsOptions', () => {
  it('authenticates to a TLS server that requires a client certificate from the CA', async () => {
    const server = await issue(ca, { cn: 'localhost', serverNames: ['localhost', '127.0.0.1'] });
    const id = await parseIdentity(inline(), join(dir, 'tls.json'));
    const tlsServer = createServer({
      cert: server.certPem,
      key: server.keyPem,
      ca: [ca.certPem],
      requestCert: true,
      rejectUnauthorized: true,
    });
    const seen = new Promise<string>((resolve) => {
      tlsServer.on('secureConnection', (socket: TLSSocket) => {
        resolve(String(socket.getPeerCertificate().subject.CN));
        socket.end();
      });
    });
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    const port = (tlsServer.address() as { port: number }).port;
    try {
      const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...id.tlsOptions() });
      socket.on('error', () => undefined);
      expect(await seen).toBe('ralph-client');
      socket.destroy();
    } finally {
      await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    }
  });
});
