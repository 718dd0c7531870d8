// The edge router runs as its own process (not quickstart's embedded one) so that it can be
// stopped and started again while the controller stays up.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostOf } from './controller.mjs';
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

/**
 * Where a router's files live. The first router keeps the original names (router/, router.log,
 * router.pid); routers added later get router-<name>/, router-<name>.log and router-<name>.pid.
 * @param {string} home
 * @param {string} [name]
 */
function routerPaths(home, name = ROUTER_NAME) {
  const first = name === ROUTER_NAME;
  const dir = join(home, first ? 'router' : `router-${name}`);
  return {
    dir,
    jwt: join(dir, `${name}.jwt`),
    config: join(dir, `${name}.yaml`),
    log: join(home, first ? 'router.log' : `router-${name}.log`),
    pid: join(home, first ? 'router.pid' : `router-${name}.pid`),
  };
}

/**
 * Creates an edge router in the controller, writes its configuration (edge listener on loopback, no
 * tunneler) and enrolls it. The first router has no link listener; a router given `linkPort` listens
 * for router links on 127.0.0.1 there, so that routers can carry circuits between each other.
 * @param {{ bin: string, home: string, ctrlPort: number, routerPort: number, host?: string }} ctx
 * @param {{ name?: string, port?: number, linkPort?: number }} [router]
 */
export async function setupRouter(ctx, router = {}) {
  const name = router.name ?? ROUTER_NAME;
  const port = router.port ?? ctx.routerPort;
  const paths = routerPaths(ctx.home, name);
  const host = hostOf(ctx);
  mkdirSync(paths.dir, { recursive: true });
  await runZiti(ctx, [
    'edge',
    'create',
    'edge-router',
    name,
    '--jwt-output-file',
    paths.jwt,
    '--role-attributes',
    'public',
  ]);
  const env = {
    ZITI_HOME: paths.dir,
    ZITI_CTRL_ADVERTISED_ADDRESS: host,
    ZITI_CTRL_ADVERTISED_PORT: String(ctx.ctrlPort),
    ZITI_ROUTER_ADVERTISED_ADDRESS: host,
    ZITI_ROUTER_PORT: String(port),
    ZITI_ROUTER_IP_OVERRIDE: host,
    ...(router.linkPort === undefined ? {} : { ZITI_ROUTER_LISTENER_BIND_PORT: String(router.linkPort) }),
  };
  await runZiti(
    ctx,
    [
      'create',
      'config',
      'router',
      'edge',
      '--routerName',
      name,
      '--output',
      paths.config,
      ...(router.linkPort === undefined ? ['--private'] : []),
      '--tunnelerMode',
      'none',
    ],
    { env },
  );
  const config = readFileSync(paths.config, 'utf8');
  const loopbackOnly = config.replaceAll('tls:0.0.0.0:', `tls:${host}:`);
  if (!loopbackOnly.includes(`tls:${host}:${port}`)) {
    throw new TestnetError(
      'ZITI_ROUTER_CONFIG',
      `router config ${paths.config} has no edge listener on port ${port}`,
    );
  }
  if (loopbackOnly.includes('0.0.0.0')) {
    throw new TestnetError('ZITI_ROUTER_CONFIG', `router config ${paths.config} listens on 0.0.0.0`);
  }
  writeFileSync(paths.config, loopbackOnly);
  await runZiti(ctx, ['router', 'enroll', paths.config, '--jwt', paths.jwt], { env });
}

/**
 * @param {{ bin: string, home: string }} ctx
 * @returns {Promise<boolean>} the controller's view of whether the router is connected
 */
export async function routerOnline(ctx, name = ROUTER_NAME) {
  const out = await runZiti(ctx, ['edge', 'list', 'edge-routers', `name="${name}"`, '--output-json']);
  /** @type {{ data?: Array<{ isOnline?: boolean }> }} */
  const parsed = JSON.parse(out);
  return parsed.data?.[0]?.isOnline === true;
}

/**
 * Starts the router process and waits until the controller reports it online.
 * @param {{ bin: string, home: string, ownerPid: number, ctrlPort: number, routerPort: number, host?: string }} ctx
 */
export async function startRouter(ctx, timeoutMs = 60_000, name = ROUTER_NAME) {
  const paths = routerPaths(ctx.home, name);
  const running = readPid(paths.pid);
  if (running !== null && isAlive(running)) {
    throw new TestnetError(
      'ZITI_ROUTER_RUNNING',
      `the edge router ${name} is already running (process group ${running})`,
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
      return routerOnline(ctx, name);
    },
    {
      timeoutMs,
      intervalMs: 500,
      what: `edge router ${name} to come online`,
      onTimeout: () => `router log tail:\n${logTail(paths.log)}`,
    },
  );
  return pid;
}

/**
 * Stops the router process and waits until the controller reports it offline.
 * @param {{ bin: string, home: string }} ctx
 */
export async function stopRouter(ctx, timeoutMs = 60_000, name = ROUTER_NAME) {
  const paths = routerPaths(ctx.home, name);
  const pid = readPid(paths.pid);
  if (pid !== null) await stopGroup(pid);
  await waitFor(async () => !(await routerOnline(ctx, name)), {
    timeoutMs,
    intervalMs: 500,
    what: `edge router ${name} to be reported offline`,
  });
}

/**
 * The process group of a running router, or null.
 * @param {{ home: string }} ctx
 */
export function routerPid(ctx, name = ROUTER_NAME) {
  const pid = readPid(routerPaths(ctx.home, name).pid);
  return pid !== null && isAlive(pid) ? pid : null;
}
