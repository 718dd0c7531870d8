/** Transports: listeners and dialers that yield byte streams. */
export type { ByteStream } from './stream.js';
export { listenUnix, dialUnix } from './unix.js';
export type { UnixListener, ListenUnixOptions, DialOptions, ConnectionInfo } from './unix.js';
