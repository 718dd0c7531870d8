import type { Duplex } from 'node:stream';

/** What every transport yields: a byte stream. Nothing above the transport layer knows which kind it got. */
export type ByteStream = Duplex;
