/** Transports: listeners and dialers that yield byte streams. */
export type { ByteStream, ConnectionInfo, Peer } from './stream.js';
export { listenUnix, dialUnix } from './unix.js';
export type { UnixListener, ListenUnixOptions, DialOptions } from './unix.js';
export { listenZiti, dialZiti } from './ziti.js';
export type { ZitiListener, ListenZitiOptions, DialZitiOptions } from './ziti.js';
