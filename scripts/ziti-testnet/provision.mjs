// Provisioning of the test network with `ziti edge` commands: policies, services and identities.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runZiti } from './proc.mjs';

export const SERVICES = {
  plain: 'ralph-echo-plain',
  e2ee: 'ralph-echo-e2ee',
  goHosted: 'ralph-go-hosted',
};

/** Enrolled identities: name, role attributes and the key algorithm used at enrollment. */
export const IDENTITIES = {
  server: { name: 'ralph-server', attributes: ['ralph-servers'], keyAlg: 'RSA' },
  client: { name: 'ralph-client', attributes: ['ralph-clients'], keyAlg: 'EC' },
  outsider: { name: 'ralph-outsider', attributes: [], keyAlg: 'RSA' },
  gotunnel: { name: 'ralph-gotunnel', attributes: ['ralph-clients', 'ralph-servers'], keyAlg: 'RSA' },
};

export const FRESH_IDENTITY = 'ralph-fresh';

const SERVICE_ATTRIBUTE = 'ralph-services';

/** @param {{ bin: string, home: string }} ctx */
async function createPolicies(ctx) {
  // Quickstart creates these two only when it runs its own router; the separate router needs them too.
  await runZiti(ctx, [
    'edge',
    'create',
    'edge-router-policy',
    'ralph-all-public-routers',
    '--edge-router-roles',
    '#public',
    '--identity-roles',
    '#all',
  ]);
  await runZiti(ctx, [
    'edge',
    'create',
    'service-edge-router-policy',
    'ralph-all-routers-all-services',
    '--edge-router-roles',
    '#all',
    '--service-roles',
    '#all',
  ]);
  await runZiti(ctx, [
    'edge',
    'create',
    'service-policy',
    'ralph-bind',
    'Bind',
    '--service-roles',
    `#${SERVICE_ATTRIBUTE}`,
    '--identity-roles',
    '#ralph-servers',
  ]);
  await runZiti(ctx, [
    'edge',
    'create',
    'service-policy',
    'ralph-dial',
    'Dial',
    '--service-roles',
    `#${SERVICE_ATTRIBUTE}`,
    '--identity-roles',
    '#ralph-clients',
  ]);
}

/**
 * @param {{ bin: string, home: string }} ctx
 * @param {string} name
 * @param {string} encryption ON or OFF
 * @param {string[]} configs
 */
async function createService(ctx, name, encryption, configs) {
  const args = [
    'edge',
    'create',
    'service',
    name,
    '--encryption',
    encryption,
    '--role-attributes',
    SERVICE_ATTRIBUTE,
  ];
  if (configs.length > 0) args.push('--configs', configs.join(','));
  await runZiti(ctx, args);
}

/**
 * Services and their configs. `host.v1` tells `ziti tunnel host` where to forward ralph-go-hosted;
 * `proxy.v1` makes `ziti tunnel proxy` listen for the echo services on 127.0.0.1 (its
 * `service:port` arguments would listen on every interface instead).
 * @param {{ bin: string, home: string }} ctx
 * @param {{ goHosted: number, proxyPlain: number, proxyE2ee: number }} ports
 */
async function createServices(ctx, ports) {
  const host = JSON.stringify({ protocol: 'tcp', address: '127.0.0.1', port: ports.goHosted });
  await runZiti(ctx, ['edge', 'create', 'config', 'ralph-go-hosted-host', 'host.v1', host]);
  const proxy = (/** @type {number} */ port) =>
    JSON.stringify({ port, protocols: ['tcp'], binding: '127.0.0.1' });
  await runZiti(ctx, [
    'edge',
    'create',
    'config',
    'ralph-echo-plain-proxy',
    'proxy.v1',
    proxy(ports.proxyPlain),
  ]);
  await runZiti(ctx, [
    'edge',
    'create',
    'config',
    'ralph-echo-e2ee-proxy',
    'proxy.v1',
    proxy(ports.proxyE2ee),
  ]);
  await createService(ctx, SERVICES.plain, 'OFF', ['ralph-echo-plain-proxy']);
  await createService(ctx, SERVICES.e2ee, 'ON', ['ralph-echo-e2ee-proxy']);
  await createService(ctx, SERVICES.goHosted, 'ON', ['ralph-go-hosted-host']);
}

/**
 * @param {{ bin: string, home: string }} ctx
 * @param {string} dir
 * @param {{ name: string, attributes: string[] }} identity
 */
async function createIdentity(ctx, dir, identity) {
  const jwtFile = join(dir, `${identity.name}.jwt`);
  const args = ['edge', 'create', 'identity', identity.name, '--jwt-output-file', jwtFile];
  if (identity.attributes.length > 0) args.push('--role-attributes', identity.attributes.join(','));
  await runZiti(ctx, args);
  return jwtFile;
}

/**
 * Provisions everything the tests use and enrolls the identities. Returns their file locations.
 * @param {{ bin: string, home: string }} ctx
 * @param {{ goHosted: number, proxyPlain: number, proxyE2ee: number }} ports
 */
export async function provision(ctx, ports) {
  const dir = join(ctx.home, 'identities');
  mkdirSync(dir, { recursive: true });
  await createPolicies(ctx);
  await createServices(ctx, ports);
  /** @type {Record<string, { name: string, file: string, keyAlg: string }>} */
  const identities = {};
  for (const [role, identity] of Object.entries(IDENTITIES)) {
    const jwtFile = await createIdentity(ctx, dir, identity);
    const file = join(dir, `${identity.name}.json`);
    await runZiti(ctx, [
      'edge',
      'enroll',
      '--jwt',
      jwtFile,
      '--out',
      file,
      '--keyAlg',
      identity.keyAlg,
      '--rm',
    ]);
    identities[role] = { name: identity.name, file, keyAlg: identity.keyAlg };
  }
  const freshJwt = await createIdentity(ctx, dir, { name: FRESH_IDENTITY, attributes: ['ralph-clients'] });
  return { identities, fresh: { name: FRESH_IDENTITY, jwtFile: freshJwt } };
}
