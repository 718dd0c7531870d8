// The controller: `ziti edge quickstart --no-router` on loopback, with a private home directory.
import { request } from 'node:https';
import { join } from 'node:path';
import { patchControllerConfig } from './controller-config.mjs';
import { TestnetError, isAlive, logTail, runZiti, spawnZitiDetached, stopGroup, waitFor } from './proc.mjs';

/**
 * One GET of the edge client API's version document; TLS verification is off because this probe
 * only checks liveness (the controller's CA is not known to this process yet).
 * @param {number} ctrlPort
 * @returns {Promise<boolean>}
 */
export function probeControllerVersion(ctrlPort) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
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
 * Starts the controller and waits until its edge client API answers. With `settings` (dotted ctrl.yaml key
 * paths, see controller-config.mjs) it starts it once to let quickstart write its configuration, stops it,
 * writes the settings and starts it again.
 * @param {{ bin: string, home: string, ownerPid: number, ctrlPort: number, routerPort: number,
 *   adminUser: string, adminPassword: string }} ctx
 * @param {number} timeoutMs
 * @param {Record<string, string | number | boolean>} [settings]
 */
export async function startController(ctx, timeoutMs, settings = {}) {
  if (Object.keys(settings).length === 0) return runController(ctx, timeoutMs);
  const startedAt = Date.now();
  await stopGroup(await runController(ctx, timeoutMs));
  patchControllerConfig(join(ctx.home, 'quickstart', 'ctrl.yaml'), settings);
  return runController(ctx, Math.max(5_000, timeoutMs - (Date.now() - startedAt)));
}

/**
 * One run of `ziti edge quickstart` on the network's home; resolves to its process group once the edge
 * client API answers.
 * @param {Parameters<typeof startController>[0]} ctx
 * @param {number} timeoutMs
 */
async function runController(ctx, timeoutMs) {
  const logFile = join(ctx.home, 'controller.log');
  const pid = spawnZitiDetached(
    ctx,
    [
      'edge',
      'quickstart',
      '--home',
      join(ctx.home, 'quickstart'),
      '--ctrl-address',
      '127.0.0.1',
      '--ctrl-port',
      String(ctx.ctrlPort),
      '--router-address',
      '127.0.0.1',
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
      // Keep both the control-plane and the web listeners on loopback.
      env: {
        ZITI_CTRL_BIND_ADDRESS: '127.0.0.1',
        ZITI_CTRL_EDGE_BIND_ADDRESS: '127.0.0.1',
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
      return probeControllerVersion(ctx.ctrlPort);
    },
    {
      timeoutMs,
      what: `the controller at https://127.0.0.1:${ctx.ctrlPort}`,
      onTimeout: () => `controller log tail:\n${logTail(logFile)}`,
    },
  );
  return pid;
}

/**
 * Logs the isolated CLI configuration in as the admin user.
 * @param {{ bin: string, home: string, ctrlPort: number, adminUser: string, adminPassword: string }} ctx
 */
export async function adminLogin(ctx) {
  await runZiti(ctx, [
    'edge',
    'login',
    `127.0.0.1:${ctx.ctrlPort}`,
    '--username',
    ctx.adminUser,
    '--password',
    ctx.adminPassword,
    '--yes',
  ]);
}
