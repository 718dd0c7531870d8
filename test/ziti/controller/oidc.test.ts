/** The pure parts of OIDC login and the test network's controller-config patching. */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { jwtClaims, oidcApiSession, oidcBaseUrl, pkcePair } from '../../../src/ziti/controller/oidc.js';
import type { ControllerVersion } from '../../../src/ziti/controller/types.js';
import { addEdgeSubsection } from '../network.js';

/** An unsigned JWT with these claims (the SDK never verifies signatures; the controller and routers do). */
function jwt(claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.sig`;
}

function version(capabilities: string[], oidcPath?: string): ControllerVersion {
  return {
    version: 'v1.7.2',
    revision: undefined,
    buildDate: undefined,
    runtimeVersion: undefined,
    apiVersions: oidcPath
      ? { 'edge-oidc': { v1: { path: oidcPath, apiBaseUrls: ['https://elsewhere:1/oidc'] } } }
      : {},
    capabilities,
  };
}

describe('OIDC helpers', () => {
  it('makes a PKCE verifier and its S256 challenge', () => {
    const { verifier, challenge } = pkcePair();
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(challenge).toBe(createHash('sha256').update(verifier).digest('base64url'));
    expect(pkcePair().verifier).not.toBe(verifier);
  });

  it('reads JWT claims and tolerates non-JWT strings', () => {
    expect(jwtClaims(jwt({ sub: 'abc', n: 1 }))).toEqual({ sub: 'abc', n: 1 });
    expect(jwtClaims('not a token')).toEqual({});
    expect(jwtClaims('a.!!!.c')).toEqual({});
    expect(jwtClaims(undefined)).toEqual({});
  });

  it('maps tokens to an API session: id from z_asid, name from the ID token, expiry from expires_in', () => {
    const receivedAt = new Date('2026-01-01T00:00:00Z');
    const exp = receivedAt.getTime() / 1000 + 60;
    const session = oidcApiSession(
      {
        accessToken: jwt({ sub: 'id1', z_asid: 'as1', z_authid: 'auth1', z_cer: true, exp }),
        idToken: jwt({ sub: 'id1', name: 'laptop' }),
        refreshToken: 'r',
        expiresIn: 59,
        receivedAt,
      },
      'https://ctrl',
    );
    expect(session).toMatchObject({
      id: 'as1',
      identityId: 'id1',
      identityName: 'laptop',
      expirationSeconds: 59,
      method: 'oidc',
      authenticatorId: 'auth1',
      certExtendRequested: true,
    });
    expect(session.expiresAt.getTime()).toBe(exp * 1000);
    expect(() =>
      oidcApiSession(
        {
          accessToken: jwt({ sub: 'x' }),
          idToken: undefined,
          refreshToken: undefined,
          expiresIn: 1,
          receivedAt,
        },
        'https://ctrl',
      ),
    ).toThrow(/API session/);
  });

  it('finds the OIDC API on the client API origin only when OIDC_AUTH is advertised', () => {
    const api = new URL('https://ctrl.example:1280/edge/client/v1');
    expect(oidcBaseUrl(version([]), api)).toBeUndefined();
    expect(oidcBaseUrl(version(['OIDC_AUTH'], '/oidc'), api)?.href).toBe('https://ctrl.example:1280/oidc');
    expect(oidcBaseUrl(version(['OIDC_AUTH']), api)?.href).toBe('https://ctrl.example:1280/oidc');
  });
});

describe('addEdgeSubsection (test network controller config)', () => {
  const yaml = 'v: 3\nedge:\n  api:\n    sessionTimeout: 30m\nweb:\n  - name: x\n';

  it('adds the subsection right under edge:', () => {
    expect(addEdgeSubsection(yaml, 'oidc', { accessTokenDuration: '1m' })).toBe(
      'v: 3\nedge:\n  oidc:\n    accessTokenDuration: 1m\n  api:\n    sessionTimeout: 30m\nweb:\n  - name: x\n',
    );
  });

  it('refuses an existing subsection and a config without edge:', () => {
    expect(() => addEdgeSubsection(yaml, 'api', { x: 1 })).toThrow(/already has edge.api/);
    expect(() => addEdgeSubsection('v: 3\n', 'oidc', { x: 1 })).toThrow(/no top-level edge/);
  });
});
