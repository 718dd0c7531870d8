import type { Duplex } from 'node:stream';

/** What every transport yields: a byte stream. Nothing above the transport layer knows which kind it got. */
export type ByteStream = Duplex;

/**
 * Who is on the other end of an accepted stream, in the same shape for every transport, so that the layers
 * above can log it and map it to a role without knowing the transport.
 */
export interface Peer {
  /** A short name unique within its listener (`unix#3`, `ziti#2`), for logs and lease holder names. */
  label: string;
  transport: 'unix' | 'ziti';
  /** Unix: the peer process's user and process id, when the operating system reports them. */
  uid?: number;
  pid?: number;
  /** Ziti: the dialing identity's name, and its id when known. */
  identity?: string;
  identityId?: string;
  /**
   * Ziti: true when the edge router vouched for `identity` (it comes from the dialer's authenticated
   * session), false when only the dialing side asserted it (the caller id header, which it may set freely).
   */
  attested?: boolean;
}

/** What a listener hands over with each accepted stream. */
export interface ConnectionInfo {
  /** Same as `peer.label`. */
  label: string;
  peer: Peer;
}
