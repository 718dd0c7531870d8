// The edge router runs as its own process (not quickstart's embedded one) so that it can be
// stopped and started again while the controller stays up.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

export const ROUTER_NAME = 'ralph-router';

/** @param {string} home */
function routerPaths(home) {
  const dir = join(home, 'router');
  return {
    dir,
    jwt: join(dir, `${ROUTER_NAME}.jwt`),
    config: join(dir, `${ROUTER_NAME}.yaml`),
    log: join(home, 'router.log'),
    pid: join(home, 'router.pid'),
  };
}

/**
 * Creates the edge router in the controller, writes its configuration (edge listener on loopback,
 * no link listener, no tunneler) and enrolls it.
 * @param {{ bin: string, home: string, ctrlPort: number, routerPort: number }} ctx
 */
export async function setupRouter(ctx) {
  const paths = routerPaths(ctx.home);
  mkdirSync(paths.dir, { recursive: true });
  await runZiti(ctx, [
    'edge',
    'create',
    'edge-router',
    ROUTER_NAME,
    '--jwt-output-file',
    paths.jwt,
    '--role-attributes',
    'public',
  ]);
  const env = {
    ZITI_HOME: paths.dir,
    ZITI_CTRL_ADVERTISED_ADDRESS: '127.0.0.1',
    ZITI_CTRL_ADVERTISED_PORT: String(ctx.ctrlPort),
    ZITI_ROUTER_ADVERTISED_ADDRESS: '127.0.0.1',
    ZITI_ROUTER_PORT: String(ctx.routerPort),
    ZITI_ROUTER_IP_OVERRIDE: '127.0.0.1',
  };
  await runZiti(
    ctx,
    [
      'create',
      'config',
      'router',
      'edge',
      '--routerName',
      ROUTER_NAME,
      '--output',
      paths.config,
      '--private',
      '--tunnelerMode',
      'none',
    ],
    { env },
  );
  const config = readFileSync(paths.config, 'utf8');
  const loopbackOnly = config.replaceAll('tls:0.0.0.0:', 'tls:127.0.0.1:');
  if (!loopbackOnly.includes(`tls:127.0.0.1:${ctx.routerPort}`)) {
    throw new TestnetError(
      'ZITI_ROUTER_CONFIG',
      `router config ${paths.config} has no edge listener on port ${ctx.routerPort}`,
    );
  }
  writeFileSync(paths.config, loopbackOnly);
  await runZiti(ctx, ['router', 'enroll', paths.config, '--jwt', paths.jwt], { env });
}

/**
 * @param {{ bin: string, home: string }} ctx
 * @returns {Promise<boolean>} the controller's view of whether the router is connected
 */
export async function routerOnline(ctx) {
  const out = await runZiti(ctx, ['edge', 'list', 'edge-routers', `name="${ROUTER_NAME}"`, '--output-json']);
  /** @type {{ data?: Array<{ isOnline?: boolean }> }} */
  const parsed = JSON.parse(out);
  return parsed.data?.[0]?.isOnline === true;
}

/**
 * Starts the router process and waits until the controller reports it online.
 * @param {{ bin: string, home: string, ownerPid: number, ctrlPort: number, routerPort: number }} ctx
 */
export async function startRouter(ctx, timeoutMs = 60_000) {
  const paths = routerPaths(ctx.home);
  const running = readPid(paths.pid);
  if (running !== null && isAlive(running)) {
    throw new TestnetError(
      'ZITI_ROUTER_RUNNING',
      `the edge router is already running (process group ${running})`,
    );
  }
  const pid = spawnZitiDetached(ctx, ['router', 'run', paths.config, '--cliagent=false'], {
    logFile: paths.log,
    pidFile: paths.pid,
  });
  await waitFor(
    async () => {
      if (!isAlive(pid)) {
        throw new TestnetError('ZITI_PROCESS_EXITED', `ziti router run exited early:\n${logTail(paths.log)}`);
      }
      return routerOnline(ctx);
    },
    {
      timeoutMs,
      intervalMs: 500,
      what: `edge router ${ROUTER_NAME} to come online`,
      onTimeout: () => `router log tail:\n${logTail(paths.log)}`,
    },
  );
  return pid;
}

/**
 * Stops the router process and waits until the controller reports it offline.
 * @param {{ bin: string, home: string }} ctx
 */
export async function stopRouter(ctx, timeoutMs = 60_000) {
  const paths = routerPaths(ctx.home);
  const pid = readPid(paths.pid);
  if (pid !== null) await stopGroup(pid);
  await waitFor(async () => !(await routerOnline(ctx)), {
    timeoutMs,
    intervalMs: 500,
    what: `edge router ${ROUTER_NAME} to be reported offline`,
  });
}
