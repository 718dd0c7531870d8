/**
 * End-to-end encryption of one edge connection, as OpenZiti SDKs do it:
 *  - each side has an X25519 key pair (crypto_kx); the dialing side takes the client role, the hosting side
 *    the server role, and each derives a receive key and a transmit key;
 *  - each direction is a crypto_secretstream_xchacha20poly1305 stream: the sender's first data message is
 *    the 24-byte stream header, every later data message is one pushed (encrypted) chunk.
 */
import { ZitiError, type ZitiErrorOptions } from '../errors.js';
import { loadSodium, type Sodium } from './sodium.js';

export class E2eeError extends ZitiError {
  constructor(detail: string, options: ZitiErrorOptions = {}) {
    super('ZITI_E2EE', `end-to-end encryption failed: ${detail}`, options);
  }
}

export interface KxKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export async function newKeyPair(): Promise<KxKeyPair> {
  const sodium = await loadSodium();
  const kp = sodium.crypto_kx_keypair();
  return { publicKey: kp.publicKey, privateKey: kp.privateKey };
}

export type E2eeRole = 'client' | 'server';

type StreamState = ReturnType<Sodium['crypto_secretstream_xchacha20poly1305_init_pull']>;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The encryption state of one connection: one outgoing and one incoming secretstream. */
export class ConnCrypto {
  /** The stream header to send as the first data message. */
  readonly txHeader: Buffer;
  private readonly sodium: Sodium;
  private readonly txState: StreamState;
  private rxKey: Uint8Array | undefined;
  private rxState: StreamState | undefined;

  private constructor(sodium: Sodium, rxKey: Uint8Array, txKey: Uint8Array) {
    this.sodium = sodium;
    const push = sodium.crypto_secretstream_xchacha20poly1305_init_push(txKey);
    this.txState = push.state;
    this.txHeader = Buffer.from(push.header);
    this.rxKey = rxKey;
  }

  /** Derives the session keys from our key pair and the peer's public key. */
  static async create(role: E2eeRole, keyPair: KxKeyPair, peerPublicKey: Uint8Array): Promise<ConnCrypto> {
    const sodium = await loadSodium();
    if (peerPublicKey.length !== sodium.crypto_kx_PUBLICKEYBYTES) {
      throw new E2eeError(
        `peer public key has ${peerPublicKey.length} bytes, expected ${sodium.crypto_kx_PUBLICKEYBYTES}`,
      );
    }
    let keys: { sharedRx: Uint8Array; sharedTx: Uint8Array };
    try {
      keys =
        role === 'client'
          ? sodium.crypto_kx_client_session_keys(keyPair.publicKey, keyPair.privateKey, peerPublicKey)
          : sodium.crypto_kx_server_session_keys(keyPair.publicKey, keyPair.privateKey, peerPublicKey);
    } catch (err) {
      throw new E2eeError(`key exchange rejected the peer key (${(err as Error).message})`, { cause: err });
    }
    return new ConnCrypto(sodium, keys.sharedRx, keys.sharedTx);
  }

  /** True until the peer's stream header has been received. */
  get awaitingHeader(): boolean {
    return this.rxState === undefined;
  }

  encrypt(plain: Uint8Array): Buffer {
    const out = this.sodium.crypto_secretstream_xchacha20poly1305_push(
      this.txState,
      plain,
      null,
      this.sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
    );
    return asBuffer(out);
  }

  /** Accepts the first incoming data message as the peer's stream header. */
  acceptHeader(header: Uint8Array): void {
    const expected = this.sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES;
    if (this.rxKey === undefined) throw new E2eeError('received a second stream header');
    if (header.length !== expected) {
      throw new E2eeError(
        `first data message has ${header.length} bytes, expected a ${expected}-byte stream header`,
      );
    }
    this.rxState = this.sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, this.rxKey);
    this.rxKey = undefined;
  }

  decrypt(cipher: Uint8Array): Buffer {
    if (this.rxState === undefined) throw new E2eeError('data arrived before the stream header');
    if (cipher.length < this.sodium.crypto_secretstream_xchacha20poly1305_ABYTES) {
      throw new E2eeError(`encrypted message of ${cipher.length} bytes is shorter than its tag`);
    }
    const result = this.sodium.crypto_secretstream_xchacha20poly1305_pull(this.rxState, cipher, null) as
      { message: Uint8Array; tag: number } | false;
    if (!result) throw new E2eeError('a message failed authentication (corrupted, reordered or wrong key)');
    return asBuffer(result.message);
  }
}
