// A throwaway OpenZiti network on loopback for tests and local experiments: a controller
// (`ziti edge quickstart --no-router`), a separately run edge router, and provisioned identities,
// services and policies. Everything lives in one temporary directory that `stop()` removes.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addEdgeSubsection,
  adminLogin,
  reconfigureController,
  startController,
} from './ziti-testnet/controller.mjs';
import { routerOnline } from './ziti-testnet/router.mjs';
import {
  INSTALL_HINT,
  TestnetError,
  findZitiBinary,
  freePort,
  killGroupNow,
  logTail,
  readPid,
  runZiti,
  spawnZitiDetached,
  stopGroup,
  waitFor,
} from './ziti-testnet/proc.mjs';
import { apiSessionTimeoutPatch } from './ziti-testnet/controller-config.mjs';
import { SERVICES, provision } from './ziti-testnet/provision.mjs';
import { shortenCertificate } from './ziti-testnet/shortcert.mjs';
import { ROUTER_NAME, routerPid, setupRouter, startRouter, stopRouter } from './ziti-testnet/router.mjs';

export { INSTALL_HINT, TestnetError, addEdgeSubsection, findZitiBinary };

/** Environment variable holding the path of a running network's description file. */
export const TESTNET_ENV = 'RALPH_ZITI_TESTNET';

const DESCRIPTION_VERSION = 1;

/** @param {number} count @param {string} [host] @returns {Promise<number[]>} */
async function distinctFreePorts(count, host) {
  const ports = new Set();
  for (let attempt = 0; attempt < 50 && ports.size < count; attempt += 1) ports.add(await freePort(host));
  if (ports.size < count)
    throw new TestnetError('ZITI_NO_PORTS', `could not find ${count} free loopback ports`);
  return [...ports];
}

/**
 * The pid files of a network's process groups, the controller's last so that its clients go first.
 * @param {string} home
 */
function pidFiles(home) {
  try {
    return readdirSync(home)
      .filter((f) => f.endsWith('.pid'))
      .sort((a, b) => Number(a === 'controller.pid') - Number(b === 'controller.pid'))
      .map((f) => join(home, f));
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code === 'ENOENT') return [];
    throw err;
  }
}

const AUTH_FAILURE = /\b401\b|unauthori[sz]ed|not authenticated|no identities found in CLI config/i;

/**
 * Builds the live network object from its description.
 * @param {import('./ziti-testnet-lib.d.mts').TestNetworkDescription} desc
 * @param {boolean} owned whether this process started the network (only the owner tears it down)
 * @returns {import('./ziti-testnet-lib.d.mts').TestNetwork}
 */
function networkFromDescription(desc, owned) {
  const ctx = {
    bin: desc.bin,
    home: desc.home,
    ownerPid: desc.ownerPid,
    ctrlPort: desc.ctrlPort,
    routerPort: desc.routerPort,
    host: desc.host ?? '127.0.0.1',
    adminUser: desc.adminUser,
    adminPassword: desc.adminPassword,
  };
  let stopped = false;

  /** @type {import('./ziti-testnet-lib.d.mts').TestNetwork['ziti']} */
  const ziti = async (args, options) => {
    try {
      return await runZiti(ctx, args, options);
    } catch (err) {
      if (!(err instanceof TestnetError) || !AUTH_FAILURE.test(err.message) || args[0] !== 'edge') throw err;
      await adminLogin(ctx);
      return runZiti(ctx, args, options);
    }
  };

  let spawned = 0;
  /** @type {import('./ziti-testnet-lib.d.mts').TestNetwork['spawnZiti']} */
  const spawnZiti = (args, name) => {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) {
      throw new TestnetError(
        'ZITI_BAD_NAME',
        `process name "${name}" must be lower-case letters, digits and dashes`,
      );
    }
    spawned += 1;
    const base = join(desc.home, `${name}-${process.pid}-${spawned}`);
    const logFile = `${base}.log`;
    const pidFile = `${base}.pid`;
    // Guarded by this process, not the network's owner: it ends when the test process does.
    const pid = spawnZitiDetached({ ...ctx, ownerPid: process.pid }, args, { logFile, pidFile });
    return {
      pid,
      logFile,
      logTail: (lines) => logTail(logFile, lines),
      stop: async () => {
        await stopGroup(pid);
        rmSync(pidFile, { force: true });
      },
    };
  };

  const stop = async () => {
    if (!owned || stopped) return;
    stopped = true;
    for (const file of pidFiles(desc.home)) {
      const pid = readPid(file);
      if (pid !== null) await stopGroup(pid);
    }
    rmSync(desc.home, { recursive: true, force: true });
  };

  /** @type {import('./ziti-testnet-lib.d.mts').TestNetwork['addRouter']} */
  const addRouter = async (name, options = {}) => {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || name === ROUTER_NAME) {
      throw new TestnetError(
        'ZITI_BAD_NAME',
        `router name "${name}" must be lower-case letters, digits and dashes, and not ${ROUTER_NAME}`,
      );
    }
    const [port, linkPort] = await distinctFreePorts(2, ctx.host);
    // An added router ends with the process that added it, like spawnZiti's processes.
    const routerCtx = { ...ctx, ownerPid: process.pid };
    await setupRouter(routerCtx, { name, port, linkPort });
    const timeoutMs = options.timeoutMs ?? 60_000;
    await startRouter(routerCtx, timeoutMs, name);
    return {
      name,
      port,
      url: `tls://${ctx.host}:${port}`,
      pid: () => routerPid(routerCtx, name),
      stop: () => stopRouter(routerCtx, timeoutMs, name),
      start: async () => {
        await startRouter(routerCtx, timeoutMs, name);
      },
      restart: async () => {
        await stopRouter(routerCtx, timeoutMs, name);
        await startRouter(routerCtx, timeoutMs, name);
      },
    };
  };

  return {
    ...desc,
    owned,
    ziti,
    spawnZiti,
    addRouter,
    routerPid: () => routerPid(ctx),
    stopRouter: () => stopRouter(ctx),
    startRouter: async () => {
      await startRouter(ctx);
    },
    restartRouter: async () => {
      await stopRouter(ctx);
      await startRouter(ctx);
    },
    restartController: async (timeoutMs = 60_000) => {
      if (!owned) throw new TestnetError('ZITI_NOT_OWNER', 'restartController: owner only');
      await reconfigureController(ctx, [], timeoutMs);
      await adminLogin(ctx);
      await waitFor(() => routerOnline(ctx), {
        timeoutMs,
        intervalMs: 500,
        what: 'the edge router to reconnect to the restarted controller',
      });
    },
    shortenCertificate: async (identityName, seconds) => {
      if (!owned) {
        throw new TestnetError('ZITI_NOT_OWNER', 'shortenCertificate restarts the controller: owner only');
      }
      return shortenCertificate(ctx, identityName, seconds);
    },
    stop,
  };
}

/** @param {string} home */
function registerExitCleanup(home) {
  const onExit = () => {
    for (const file of pidFiles(home)) {
      const pid = readPid(file);
      if (pid !== null) killGroupNow(pid);
    }
    rmSync(home, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return () => process.removeListener('exit', onExit);
}

/**
 * The controller configuration patches a start asks for: the named options first, then `controllerConfigPatch`.
 * @param {import('./ziti-testnet-lib.d.mts').StartOptions} options
 * @returns {Array<(yaml: string) => string>}
 */
function controllerPatches(options) {
  /** @type {Array<(yaml: string) => string>} */
  const patches = [];
  if (options.oidcAccessTokenDuration !== undefined) {
    const duration = options.oidcAccessTokenDuration;
    // Only this key: in v1.7.2 idTokenDuration and refreshTokenDuration overwrite the access token duration.
    patches.push((yaml) => addEdgeSubsection(yaml, 'oidc', { accessTokenDuration: duration }));
  }
  if (options.apiSessionTimeout !== undefined)
    patches.push(apiSessionTimeoutPatch(options.apiSessionTimeout));
  const extra = options.controllerConfigPatch;
  if (extra !== undefined) patches.push(...(Array.isArray(extra) ? extra : [extra]));
  return patches;
}

/**
 * Starts and provisions a network. Rejects with a TestnetError (code ZITI_NOT_FOUND when there is
 * no `ziti` CLI) and leaves nothing running when any step fails.
 * @param {import('./ziti-testnet-lib.d.mts').StartOptions} [options]
 */
export async function startTestNetwork(options = {}) {
  const bin = options.bin ?? findZitiBinary();
  if (!bin)
    throw new TestnetError(
      'ZITI_NOT_FOUND',
      `the ziti CLI was not found on PATH or in the Go bin directory; ${INSTALL_HINT}`,
    );
  const timeoutMs = options.timeoutMs ?? 120_000;
  const home = mkdtempSync(join(tmpdir(), 'ralph-ziti-'));
  mkdirSync(join(home, 'cli-home'));
  mkdirSync(join(home, 'cli-config'));
  const unregister = registerExitCleanup(home);
  const host = options.host ?? '127.0.0.1';
  const [ctrlPort, routerPort] = await distinctFreePorts(2, host);
  const [goHostedPort, proxyPlain, proxyE2ee] = await distinctFreePorts(3);
  const ctx = {
    bin,
    home,
    ownerPid: process.pid,
    ctrlPort,
    routerPort,
    host,
    adminUser: 'admin',
    adminPassword: randomBytes(12).toString('hex'),
  };
  /** @type {import('./ziti-testnet-lib.d.mts').TestNetworkDescription} */
  const partial = {
    version: DESCRIPTION_VERSION,
    ...ctx,
    descriptionFile: join(home, 'testnet.json'),
    ctrlUrl: `https://${host}:${ctrlPort}`,
    routerName: ROUTER_NAME,
    services: { ...SERVICES },
    goHostedTarget: { host: '127.0.0.1', port: goHostedPort },
    proxyListeners: {
      plain: { host: '127.0.0.1', port: proxyPlain },
      e2ee: { host: '127.0.0.1', port: proxyE2ee },
    },
    logs: { controller: join(home, 'controller.log'), router: join(home, 'router.log') },
    identities: /** @type {never} */ (undefined),
    fresh: /** @type {never} */ (undefined),
  };
  const startedAt = Date.now();
  const remaining = () => Math.max(5_000, timeoutMs - (Date.now() - startedAt));
  try {
    await startController(ctx, remaining());
    const patches = controllerPatches(options);
    if (patches.length > 0) await reconfigureController(ctx, patches, remaining());
    await adminLogin(ctx);
    await setupRouter(ctx);
    await startRouter(ctx, remaining());
    const { identities, fresh } = await provision(ctx, { goHosted: goHostedPort, proxyPlain, proxyE2ee });
    const desc = { ...partial, identities: /** @type {never} */ (identities), fresh };
    writeFileSync(desc.descriptionFile, `${JSON.stringify(desc, null, 2)}\n`, { mode: 0o600 });
    const network = networkFromDescription(desc, true);
    const stop = network.stop;
    network.stop = async () => {
      unregister();
      await stop();
    };
    return network;
  } catch (err) {
    await networkFromDescription(partial, true).stop();
    unregister();
    throw err;
  }
}

/**
 * Attaches to a network started elsewhere (e.g. by a test run's global setup). The returned
 * object's `stop()` does nothing: the process that started the network tears it down.
 * @param {string} file description file written by startTestNetwork
 */
export function loadTestNetwork(file) {
  /** @type {import('./ziti-testnet-lib.d.mts').TestNetworkDescription} */
  const desc = JSON.parse(readFileSync(file, 'utf8'));
  if (desc.version !== DESCRIPTION_VERSION) {
    throw new TestnetError(
      'ZITI_BAD_DESCRIPTION',
      `${file} has description version ${String(desc.version)}, expected ${DESCRIPTION_VERSION}`,
    );
  }
  return networkFromDescription(desc, false);
}

/**
 * The description (plain data) of a network, as written to its description file.
 * @param {import('./ziti-testnet-lib.d.mts').TestNetwork} network
 */
export function describeTestNetwork(network) {
  return JSON.parse(readFileSync(network.descriptionFile, 'utf8'));
}
