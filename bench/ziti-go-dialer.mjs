/**
 * The Go SDK dialing from its own process, for the like-for-like row of bench/ziti-sdk.mjs: builds
 * bench/fixtures/ziti-go-dialer/main.go against the sdk-golang release the installed `ziti` v1.7.2 was built
 * with (a throwaway module requiring github.com/openziti/ziti, as scripts/install-ziti.sh builds the CLI), and
 * drives it over stdin/stdout as a SideDriver of ziti-compare.mjs. The build is kept in $TMPDIR, keyed by the
 * source and the Go version, so a second run starts at once.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { nowMs, ROOT, withTimeout } from './lib/common.mjs';

const SOURCE = join(ROOT, 'bench', 'fixtures', 'ziti-go-dialer', 'main.go');
const ZITI_VERSION = process.env.ZITI_FALLBACK_VERSION ?? 'v1.7.2';
const GO_MOD = `module ralph.local/zitigodialer

go 1.25.3

replace github.com/michaelquigley/pfxlog => github.com/michaelquigley/pfxlog v0.6.10

require github.com/openziti/ziti ${ZITI_VERSION}
`;
// Keeps github.com/openziti/ziti in the module graph, so that sdk-golang and its dependencies resolve to the
// versions the ziti CLI was built with.
const PIN = '//go:build tools\n\npackage main\n\nimport _ "github.com/openziti/ziti/common/version"\n';

function run(cmd, args, cwd, env) {
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `status ${r.status}`}):\n${out}`);
  }
  return r.stdout;
}

/** Builds the Go dialer if needed; returns the path of its binary. */
export function buildGoDialer() {
  const goVersion = run('go', ['version'], ROOT).trim();
  const key = createHash('sha256')
    .update(readFileSync(SOURCE))
    .update(GO_MOD)
    .update(goVersion)
    .digest('hex')
    .slice(0, 16);
  const binary = join(tmpdir(), `ralph-ziti-go-dialer-${key}`);
  if (existsSync(binary)) return binary;
  process.stderr.write(`building the Go SDK dialer (${goVersion}) ...\n`);
  const work = mkdtempSync(join(tmpdir(), 'ralph-go-dialer-build-'));
  try {
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'go.mod'), GO_MOD);
    writeFileSync(join(work, 'pin.go'), PIN);
    copyFileSync(SOURCE, join(work, 'main.go'));
    const env = { GOFLAGS: '-mod=mod', GONOSUMDB: 'github.com/openziti' };
    run('go', ['mod', 'tidy'], work, env);
    run('go', ['build', '-o', join(work, 'dialer'), '.'], work, env);
    renameSync(join(work, 'dialer'), binary);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binary;
}

/**
 * Starts the Go dialer for one service and returns it as a SideDriver, plus stop().
 * @returns {Promise<import('./ziti-compare.mjs').SideDriver & { stop(): Promise<void> }>}
 */
export async function startGoDialer(binary, identityFile, service, readyTimeoutMs = 60_000) {
  const child = spawn(binary, [identityFile, service], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  let stderrTail = '';
  child.stderr.on('data', (chunk) => (stderrTail = `${stderrTail}${chunk}`.slice(-4000)));
  const answers = [];
  let waiting;
  createInterface({ input: child.stdout }).on('line', (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      process.stderr.write(`go dialer: ${line}\n`);
      return;
    }
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w(msg);
    } else answers.push(msg);
  });
  const gone = exited.then(([code, signal]) => {
    throw new Error(`the Go dialer exited (${signal ?? `status ${code}`}):\n${stderrTail}`);
  });
  gone.catch(() => undefined);
  const next = (timeoutMs, what) =>
    withTimeout(
      Promise.race([
        answers.length > 0 ? answers.shift() : new Promise((resolve) => (waiting = resolve)),
        gone,
      ]),
      timeoutMs,
      `the Go dialer: ${what}`,
    );
  const ask = async (command, timeoutMs) => {
    child.stdin.write(`${command}\n`);
    const answer = await next(timeoutMs, command);
    if (answer.error) throw new Error(`the Go dialer: ${command}: ${answer.error}`);
    return answer;
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin.end();
    await withTimeout(exited, 8_000, 'the Go dialer to exit').catch(() => child.kill('SIGKILL'));
  };
  try {
    await next(readyTimeoutMs, 'authenticating');
  } catch (err) {
    await stop();
    throw err;
  }
  /** How long each Dial() call took, of the connect times. */
  const dialMs = [];
  return {
    connect: async () => {
      const answer = await ask('connect', 40_000);
      dialMs.push(answer.dialMs);
      return answer.ms;
    },
    dialMs,
    openLink: async () => void (await ask('open', 20_000)),
    rtts: async (count, deadline) => {
      const left = Math.max(0, Math.round(deadline - nowMs()));
      return (await ask(`rtt ${count} ${left}`, left + 30_000)).samples;
    },
    closeLink: async () => void (await ask('close', 20_000)),
    throughput: async (totalBytes, chunkBytes, timeoutMs) =>
      (await ask(`throughput ${totalBytes} ${chunkBytes} ${timeoutMs}`, timeoutMs + 20_000)).mibps,
    stop,
  };
}
