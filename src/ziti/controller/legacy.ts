/**
 * The legacy login: `POST /authenticate?method=cert` over mutual TLS, answered with an API session whose token
 * goes as `zt-session` on every later call. OpenZiti 2.x deprecates it in favour of OIDC (see oidc.ts).
 */
import { AuthenticationFailedError } from '../errors.js';
import { apiError, envelopeData, errorDetail } from './envelope.js';
import type { HttpResponse } from './http.js';
import { toApiSession } from './mappers.js';
import type { ApiSessionDetail, EnvInfo, SdkInfo } from './types.js';

export interface LegacyLoginInput {
  /** Sends `POST /authenticate?method=cert` with this JSON body. */
  post: (body: unknown) => Promise<HttpResponse>;
  /** `https://ctrl:port/edge/client/v1/authenticate`, for errors. */
  where: string;
  origin: string;
  identityLabel: string;
  configTypes: string[];
  sdkInfo: SdkInfo;
  envInfo: EnvInfo;
}

export async function legacyLogin(input: LegacyLoginInput): Promise<ApiSessionDetail> {
  const res = await input.post({
    configTypes: input.configTypes,
    sdkInfo: input.sdkInfo,
    envInfo: input.envInfo,
  });
  if (res.status === 401 || res.status === 403) {
    throw new AuthenticationFailedError(input.origin, input.identityLabel, errorDetail(res).message);
  }
  if (res.status !== 200) throw apiError(res, input.where);
  const session = toApiSession(envelopeData(res, input.where), input.origin);
  if (session.authQueries.length > 0) {
    throw new AuthenticationFailedError(
      input.origin,
      input.identityLabel,
      'the controller asks for further authentication (e.g. MFA), which this SDK does not support',
    );
  }
  return session;
}
