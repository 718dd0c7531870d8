/** The test network's ctrl.yaml patches: one scalar at a dotted path, the API-session timeout (no network). */
import { describe, expect, it } from 'vitest';
import { apiSessionTimeoutPatch, setYamlScalar } from '../../scripts/ziti-testnet/controller-config.mjs';

const CTRL_YAML = `v: 3

# comment
edge:
  # api section
  api:
    # sessionTimeout - optional, default 30m
    sessionTimeout: 30m
    address: 127.0.0.1:1280
  enrollment:
    edgeIdentity:
      duration: 180m
web:
  - name: client-management
`;

describe('setYamlScalar', () => {
  it('replaces a nested value and leaves the rest alone', () => {
    const out = setYamlScalar(CTRL_YAML, 'edge.api.sessionTimeout', '1m');
    expect(out).toBe(CTRL_YAML.replace('sessionTimeout: 30m', 'sessionTimeout: 1m'));
  });

  it('does not match a key of the same name at another depth', () => {
    const out = setYamlScalar(CTRL_YAML, 'edge.enrollment.edgeIdentity.duration', '5m');
    expect(out).toContain('      duration: 5m');
    expect(out).toContain('sessionTimeout: 30m');
  });

  it('adds a missing key under its parent, and missing parents too', () => {
    const added = setYamlScalar(CTRL_YAML, 'edge.api.activityUpdateInterval', '5s');
    expect(added).toContain('  api:\n    activityUpdateInterval: 5s\n');
    const nested = setYamlScalar(CTRL_YAML, 'edge.oidc.accessTokenDuration', '2m');
    expect(nested).toContain('edge:\n  oidc:\n    accessTokenDuration: 2m\n');
    const top = setYamlScalar(CTRL_YAML, 'extra.flag', true);
    expect(top.endsWith('  - name: client-management\nextra:\n  flag: true\n')).toBe(true);
  });
});

describe('apiSessionTimeoutPatch', () => {
  it('sets edge.api.sessionTimeout', () => {
    expect(apiSessionTimeoutPatch('90s')(CTRL_YAML)).toBe(
      CTRL_YAML.replace('sessionTimeout: 30m', 'sessionTimeout: 90s'),
    );
  });

  it('refuses a timeout the controller would replace with its default', () => {
    expect(() => apiSessionTimeoutPatch('30s')).toThrow(/at least 1m/);
    expect(() => apiSessionTimeoutPatch('1 minute')).toThrow(/at least 1m/);
  });
});
