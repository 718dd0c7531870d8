/**
 * OIDC sessions: an edge router checks the API session token of a channel (a JWT with an expiry) when the
 * channel says hello and again for later dials and binds. After the controller client refreshes its access
 * token, every open channel gets the new one with UpdateToken (60803, body = the access token); the router
 * answers UpdateTokenSuccess (60801) or UpdateTokenFailure (60802, body = the reason).
 */
import { newMessage } from '../channel/message.js';
import { ConnectionClosedByRouterError } from '../errors.js';
import { EdgeContentType } from './protocol.js';
import type { EdgeRouter } from './router.js';

export const TOKEN_UPDATE_TIMEOUT_MS = 10_000;

/** Sends the new access token to one router; rejects with the router's reason when it refuses. */
export async function updateRouterToken(
  router: EdgeRouter,
  token: string,
  timeoutMs = TOKEN_UPDATE_TIMEOUT_MS,
): Promise<void> {
  const reply = await router.channel.request(
    newMessage(EdgeContentType.updateToken, token),
    timeoutMs,
    'access token update',
  );
  if (reply.contentType === EdgeContentType.updateTokenSuccess) return;
  const reason =
    reply.contentType === EdgeContentType.updateTokenFailure
      ? reply.body.toString('utf8') || 'refused without a reason'
      : `unexpected answer of type ${reply.contentType}`;
  throw new ConnectionClosedByRouterError(router.name, `the router refused the new access token: ${reason}`);
}

/**
 * Sends the token to every router; a router that refuses it is closed, so that the next dial or bind connects
 * again with a hello carrying the current token.
 */
export async function updateRouterTokens(routers: EdgeRouter[], token: string): Promise<void> {
  await Promise.all(
    routers.map((router) =>
      updateRouterToken(router, token).catch((err: unknown) =>
        router.close(err instanceof Error ? err : new Error(String(err))),
      ),
    ),
  );
}
