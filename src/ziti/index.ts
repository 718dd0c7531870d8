// Controller side: errors, identities, enrollment, edge client API.
export * from './errors.js';
export {
  identityFromPem,
  loadIdentity,
  parseIdentity,
  saveIdentity,
  writeFileAtomic,
  type IdentityMaterial,
  type LoadIdentityOptions,
  type ZitiIdentity,
  type ZitiTlsOptions,
} from './identity.js';
export { enrollWithJwt, type EnrollOptions } from './enroll.js';
export { CertificateRenewer, DEFAULT_RENEW_MARGIN_MS, RenewalFailedError, backupFileOf } from './renew.js';
export * from './controller/index.js';
// Edge-router side: channels, edge connections, end-to-end encryption, the context.
export { ZitiContext, type ZitiContextOptions, type DialOptions, type BindOptions } from './context.js';
export {
  ZitiServer,
  type RebindPolicy,
  type RebindEvent,
  type ServerState,
  type ZitiServerEvents,
  type ZitiServerOptions,
} from './edge/server.js';
export { EdgeConn } from './edge/conn.js';
export { EdgeListener } from './edge/listener.js';
export { EdgeRouter } from './edge/router.js';
export { updateRouterToken, updateRouterTokens } from './edge/token.js';
export { RouterPool, type RouterStats } from './edge/pool.js';
export {
  BindFailedError,
  DialFailedError,
  RebindFailedError,
  ReceiveOverflowError,
  ZitiClosedError,
} from './edge/errors.js';
export { Channel, DEFAULT_CONN_RECEIVE_BUFFER_BYTES, type ChannelOptions } from './channel/channel.js';
export { connectChannel, parseRouterUrl, type ConnectChannelOptions } from './channel/connect.js';
export {
  ChannelProtocolError,
  ChannelTimeoutError,
  HelloRejectedError,
  InvalidChannelOptionError,
  RouterUnreachableError,
} from './channel/errors.js';
export { encodeFrame, decodeFrame, FrameDecoder } from './channel/codec.js';
export { ConnCrypto, E2eeError, newKeyPair, type KxKeyPair } from './crypto/e2ee.js';
