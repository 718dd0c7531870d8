// Provisioning a `ralph daemon` on a test network, shared by the acceptance tests and the benchmarks: a service
// of its own (bindable by ralph-server, dialable by ralph-client through the network's policies) and a daemon
// configuration that gives the client identity the control role.
import { writeFileSync } from 'node:fs';

/**
 * @param {import('../ziti-testnet-lib.d.mts').TestNetwork} net
 * @param {{ service: string, workspace: string, configFile: string, maxLoops: number }} options
 * @returns {Promise<{ service: string, laptopId: string }>}
 */
export async function provisionDaemon(net, { service, workspace, configFile, maxLoops }) {
  await net.ziti([
    'edge',
    'create',
    'service',
    service,
    '--role-attributes',
    'ralph-services',
    '--encryption',
    'ON',
  ]);
  const name = net.identities.client.name;
  const out = await net.ziti(['edge', 'list', 'identities', `name="${name}"`, '--output-json']);
  /** @type {{ data?: Array<{ id?: string }> }} */
  const parsed = JSON.parse(out);
  const laptopId = parsed.data?.[0]?.id;
  if (!laptopId) throw new Error(`identity ${name} not found on the test network`);
  const config = {
    identity: net.identities.server.file,
    service,
    workspace,
    maxLoops,
    // The caller is known by its certificate's CN (the identity id); the name is listed too.
    roles: { [laptopId]: 'control', [name]: 'control' },
  };
  writeFileSync(configFile, `// a test daemon\n${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return { service, laptopId };
}
