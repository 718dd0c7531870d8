export { ControllerClient } from './client.js';
export type {
  ApiSessionDetail,
  ApiSessionInfo,
  AuthMethod,
  ControllerRequestInfo,
  RenewOptions,
  RenewedInfo,
  ControllerClientEvents,
  ControllerClientOptions,
  ControllerVersion,
  EdgeRouterInfo,
  EnvInfo,
  SdkInfo,
  ZitiService,
  ZitiSession,
} from './types.js';
export {
  CLIENT_API_PATH,
  SDK_TYPE,
  SDK_VERSION,
  clientApiUrl,
  defaultEnvInfo,
  defaultSdkInfo,
} from './info.js';
export {
  checkEnrollmentJwt,
  decodeEnrollmentJwt,
  readEnrollmentToken,
  verifyJwtSignature,
  type EnrollmentClaims,
  type EnrollmentJwt,
} from './jwt.js';
export { encodeCaBundle, parseCaBundle } from './cacerts.js';
export { generateKeyAndCsr, type KeyAndCsr } from './csr.js';
export { refreshDelayMs, retryDelayMs } from './refresh.js';
export {
  OIDC_CAPABILITY,
  OIDC_CLIENT_ID,
  jwtClaims,
  oidcApiSession,
  oidcBaseUrl,
  oidcLogin,
  oidcRefresh,
  pkcePair,
  type OidcTokens,
} from './oidc.js';
export { legacyLogin } from './legacy.js';
