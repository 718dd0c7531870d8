import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConnCrypto, E2eeError, newKeyPair } from '../../../src/ziti/crypto/e2ee.js';

async function pair(): Promise<{ client: ConnCrypto; server: ConnCrypto }> {
  const clientKeys = await newKeyPair();
  const serverKeys = await newKeyPair();
  const client = await ConnCrypto.create('client', clientKeys, serverKeys.publicKey);
  const server = await ConnCrypto.create('server', serverKeys, clientKeys.publicKey);
  client.acceptHeader(server.txHeader);
  server.acceptHeader(client.txHeader);
  return { client, server };
}

describe('end-to-end encryption of a connection', () => {
  it('uses 32-byte kx keys and a 24-byte stream header', async () => {
    const keys = await newKeyPair();
    expect(keys.publicKey).toHaveLength(32);
    const { client } = await pair();
    expect(client.txHeader).toHaveLength(24);
  });

  it('round-trips both directions, message by message, with 17 bytes of overhead each', async () => {
    const { client, server } = await pair();
    for (const size of [1, 100, 65_536]) {
      const plain = randomBytes(size);
      const sealed = client.encrypt(plain);
      expect(sealed).toHaveLength(size + 17);
      expect(server.decrypt(sealed).equals(plain)).toBe(true);
      const back = server.encrypt(plain);
      expect(client.decrypt(back).equals(plain)).toBe(true);
    }
  });

  it('rejects tampered, replayed and reordered messages', async () => {
    const { client, server } = await pair();
    const first = client.encrypt(Buffer.from('one'));
    const tampered = Buffer.from(first);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => server.decrypt(tampered)).toThrow(E2eeError);
    expect(server.decrypt(first).toString()).toBe('one');
    expect(() => server.decrypt(first)).toThrow(E2eeError);
    const { client: c2, server: s2 } = await pair();
    const a = c2.encrypt(Buffer.from('a'));
    const b = c2.encrypt(Buffer.from('b'));
    expect(() => s2.decrypt(b)).toThrow(/failed authentication/);
    expect(s2.decrypt(a).toString()).toBe('a');
  });

  it('refuses a wrong-sized header or peer key, and data before the header', async () => {
    const keys = await newKeyPair();
    const other = await newKeyPair();
    await expect(ConnCrypto.create('client', keys, new Uint8Array(31))).rejects.toThrow(E2eeError);
    const c = await ConnCrypto.create('client', keys, other.publicKey);
    expect(c.awaitingHeader).toBe(true);
    expect(() => c.decrypt(Buffer.alloc(40))).toThrow(/before the stream header/);
    expect(() => c.acceptHeader(Buffer.alloc(10))).toThrow(/24-byte stream header/);
  });

  it('derives mismatched keys when roles are swapped (both sides must agree who dialed)', async () => {
    const a = await newKeyPair();
    const b = await newKeyPair();
    const x = await ConnCrypto.create('client', a, b.publicKey);
    const y = await ConnCrypto.create('client', b, a.publicKey);
    y.acceptHeader(x.txHeader);
    expect(() => y.decrypt(x.encrypt(Buffer.from('hi')))).toThrow(E2eeError);
  });
});
