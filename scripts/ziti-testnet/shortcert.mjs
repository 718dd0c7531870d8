// Short-lived identity certificates for renewal tests. Controller v1.7.2 signs identity certificates for one
// year with no setting to shorten it (openziti/ziti issue 3174), so a small Go program (shortcert/main.go, built
// once per source version with the Go toolchain and the module cache that built the ziti CLI) re-signs an
// identity's certificate with the network's signing CA and a short lifetime and stores it in the stopped
// controller's database through the controller's own stores.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controllerConfigFile, startController } from './controller.mjs';
import { TestnetError, readPid, stopGroup, waitFor } from './proc.mjs';
import { routerOnline } from './router.mjs';

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'shortcert', 'main.go');
const GO_MOD = `module ralph.local/shortcert

go 1.24

replace github.com/michaelquigley/pfxlog => github.com/michaelquigley/pfxlog v0.6.10

require github.com/openziti/ziti v1.7.2
`;

/**
 * Builds the tool (offline, from the module cache) unless a build of this source exists.
 * @returns {string} the binary's path
 */
function shortcertBinary() {
  const hash = createHash('sha256').update(readFileSync(SOURCE)).update(GO_MOD).digest('hex').slice(0, 12);
  const bin = join(tmpdir(), `ralph-ziti-shortcert-${hash}`);
  if (existsSync(bin)) return bin;
  const work = join(tmpdir(), `ralph-ziti-shortcert-build-${process.pid}-${Date.now()}`);
  mkdirSync(work, { recursive: true });
  try {
    writeFileSync(join(work, 'go.mod'), GO_MOD);
    writeFileSync(join(work, 'main.go'), readFileSync(SOURCE));
    // Offline first (the module cache that built the ziti CLI has everything); then through the configured
    // Go module proxy, for a machine whose ziti CLI was installed some other way.
    const offline = { ...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off', GONOSUMDB: 'github.com/openziti' };
    const online = { ...process.env, GOFLAGS: '-mod=mod' };
    const failures = [];
    for (const env of [offline, online]) {
      const failure = buildShortcert(work, env);
      if (failure === undefined) {
        failures.length = 0;
        break;
      }
      failures.push(failure);
    }
    if (failures.length > 0) {
      throw new TestnetError(
        'ZITI_SHORTCERT_BUILD',
        `building the short-certificate tool failed (needs Go and the ziti v1.7.2 modules): ${failures.join(' / ')}`,
      );
    }
    renameSync(join(work, 'shortcert'), bin);
    return bin;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Runs `go mod tidy` and `go build` in `work` with `env`; returns why it failed, or undefined.
 * @param {string} work
 * @param {NodeJS.ProcessEnv} env
 * @returns {string | undefined}
 */
function buildShortcert(work, env) {
  for (const args of [
    ['mod', 'tidy'],
    ['build', '-o', join(work, 'shortcert'), '.'],
  ]) {
    const run = spawnSync('go', args, { cwd: work, env, encoding: 'utf8', timeout: 600_000 });
    if (run.error || run.status !== 0) {
      return `go ${args.join(' ')} (GOPROXY=${env.GOPROXY ?? 'default'}): ${run.error?.message ?? ''}${run.stderr ?? ''}`.trim();
    }
  }
  return undefined;
}

/**
 * @param {string} yaml
 * @param {RegExp} re
 * @param {string} what
 */
function configValue(yaml, re, what) {
  const m = re.exec(yaml);
  if (!m?.[1]) throw new TestnetError('ZITI_BAD_CONFIG', `no ${what} in the controller config`);
  return m[1].replace(/^"|"$/g, '');
}

/**
 * Gives the identity a certificate that expires `seconds` from now and returns its PEM chain. Stops the
 * controller meanwhile and waits until it and the router are back.
 * @param {{ bin: string, home: string, ownerPid: number, ctrlPort: number, routerPort: number,
 *   adminUser: string, adminPassword: string }} ctx
 * @param {string} identityName
 * @param {number} seconds
 * @returns {Promise<string>}
 */
export async function shortenCertificate(ctx, identityName, seconds) {
  const tool = shortcertBinary();
  const yaml = readFileSync(controllerConfigFile(ctx), 'utf8');
  const signing = /signingCert:\s*\n\s*cert:\s*(\S+)\s*\n\s*key:\s*(\S+)/.exec(yaml);
  if (!signing?.[1] || !signing[2]) {
    throw new TestnetError('ZITI_BAD_CONFIG', 'no edge.enrollment.signingCert in the controller config');
  }
  const dbFile = configValue(yaml, /^db:\s*(\S+)/m, 'db');
  const pid = readPid(join(ctx.home, 'controller.pid'));
  if (pid !== null) await stopGroup(pid);
  const run = spawnSync(tool, [dbFile, identityName, signing[1], signing[2], String(seconds)], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  await startController(ctx, 60_000);
  await waitFor(() => routerOnline(ctx), { timeoutMs: 60_000, what: 'the edge router to reconnect' });
  if (run.error || run.status !== 0) {
    throw new TestnetError('ZITI_SHORTCERT', `shortcert failed: ${run.error?.message ?? run.stderr}`);
  }
  return run.stdout;
}
