// The controller: `ziti edge quickstart --no-router` on loopback, with a private home directory.
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import {
  TestnetError,
  isAlive,
  logTail,
  readPid,
  runZiti,
  spawnZitiDetached,
  stopGroup,
  waitFor,
} from './proc.mjs';

/**
 * One GET of the edge client API's version document; TLS verification is off because this probe
 * only checks liveness (the controller's CA is not known to this process yet).
 * @param {number} ctrlPort
 * @param {string} [host]
 * @returns {Promise<boolean>}
 */
export function probeControllerVersion(ctrlPort, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port: ctrlPort,
        path: '/edge/client/v1/version',
        method: 'GET',
        rejectUnauthorized: false,
        timeout: 3_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * The address every listener of the network uses: `ctx.host`, else 127.0.0.1.
 * @param {{ host?: string }} ctx
 */
export function hostOf(ctx) {
  return ctx.host ?? '127.0.0.1';
}

/**
 * Starts the controller and waits until its edge client API answers.
 * @param {{ bin: string, home: string, ownerPid: number, ctrlPort: number, routerPort: number,
 *   adminUser: string, adminPassword: string, host?: string }} ctx
 * @param {number} timeoutMs
 */
export async function startController(ctx, timeoutMs) {
  const logFile = join(ctx.home, 'controller.log');
  const pid = spawnZitiDetached(
    ctx,
    [
      'edge',
      'quickstart',
      '--home',
      join(ctx.home, 'quickstart'),
      '--ctrl-address',
      hostOf(ctx),
      '--ctrl-port',
      String(ctx.ctrlPort),
      '--router-address',
      hostOf(ctx),
      '--router-port',
      String(ctx.routerPort),
      '--no-router',
      '--username',
      ctx.adminUser,
      '--password',
      ctx.adminPassword,
    ],
    {
      logFile,
      pidFile: join(ctx.home, 'controller.pid'),
      // Keep both the control-plane and the web listeners on the network's one address (loopback by default).
      env: {
        ZITI_CTRL_BIND_ADDRESS: hostOf(ctx),
        ZITI_CTRL_EDGE_BIND_ADDRESS: hostOf(ctx),
        // quickstart names a non-loopback --ctrl-address as a DNS name in its server certificate, which the
        // controller then refuses for its own advertise address; this adds it as an IP address too.
        ...(hostOf(ctx) === '127.0.0.1' ? {} : { ZITI_CTRL_EDGE_IP_OVERRIDE: hostOf(ctx) }),
        RALPH_TESTNET_ORPHAN_RM: ctx.home,
      },
    },
  );
  await waitFor(
    async () => {
      if (!isAlive(pid)) {
        throw new TestnetError(
          'ZITI_PROCESS_EXITED',
          `ziti edge quickstart exited early:\n${logTail(logFile)}`,
        );
      }
      return probeControllerVersion(ctx.ctrlPort, hostOf(ctx));
    },
    {
      timeoutMs,
      what: `the controller at https://${hostOf(ctx)}:${ctx.ctrlPort}`,
      onTimeout: () => `controller log tail:\n${logTail(logFile)}`,
    },
  );
  return pid;
}

/**
 * Logs the isolated CLI configuration in as the admin user.
 * @param {{ bin: string, home: string, ctrlPort: number, adminUser: string, adminPassword: string, host?: string }} ctx
 */
export async function adminLogin(ctx) {
  await runZiti(ctx, [
    'edge',
    'login',
    `${hostOf(ctx)}:${ctx.ctrlPort}`,
    '--username',
    ctx.adminUser,
    '--password',
    ctx.adminPassword,
    '--yes',
  ]);
}

/**
 * The controller's configuration file, written by quickstart on its first start and reused on later starts.
 * @param {{ home: string }} ctx
 */
export function controllerConfigFile(ctx) {
  return join(ctx.home, 'quickstart', 'ctrl.yaml');
}

/**
 * Stops the controller, applies `patches` to its configuration file (each takes and returns the YAML text) and
 * starts it again with the same home, so that quickstart reuses its database and the patched file.
 * @param {{ bin: string, home: string, ownerPid: number, ctrlPort: number, routerPort: number,
 *   adminUser: string, adminPassword: string }} ctx
 * @param {Array<(yaml: string) => string>} patches
 * @param {number} timeoutMs
 */
export async function reconfigureController(ctx, patches, timeoutMs) {
  const file = controllerConfigFile(ctx);
  let text = readFileSync(file, 'utf8');
  for (const patch of patches) {
    text = patch(text);
    if (typeof text !== 'string') {
      throw new TestnetError('ZITI_BAD_PATCH', 'a controller config patch must return the new YAML text');
    }
  }
  const pid = readPid(join(ctx.home, 'controller.pid'));
  if (pid !== null) await stopGroup(pid);
  writeFileSync(file, text);
  await startController(ctx, timeoutMs);
}

/**
 * Adds a subsection with plain scalar values under the controller config's top-level `edge:` section, e.g.
 * `addEdgeSubsection(yaml, 'oidc', { accessTokenDuration: '1m' })`. Refuses a subsection that already exists.
 * @param {string} yaml
 * @param {string} name
 * @param {Record<string, string | number | boolean>} values
 * @returns {string}
 */
export function addEdgeSubsection(yaml, name, values) {
  const edge = /^edge:[ \t]*$/m;
  if (!edge.test(yaml))
    throw new TestnetError('ZITI_BAD_PATCH', 'the controller config has no top-level edge:');
  if (new RegExp(`^  ${name}:`, 'm').test(yaml)) {
    throw new TestnetError('ZITI_BAD_PATCH', `the controller config already has edge.${name}`);
  }
  const block = [`  ${name}:`, ...Object.entries(values).map(([k, v]) => `    ${k}: ${String(v)}`)];
  return yaml.replace(edge, (line) => `${line}\n${block.join('\n')}`);
}
