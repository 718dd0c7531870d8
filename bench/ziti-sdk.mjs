#!/usr/bin/env node
/**
 * Our OpenZiti SDK against the Go SDK, on one OpenZiti test network started for the run (all on 127.0.0.1).
 *
 * Host, the same for both: bench/ziti-echo-host.mjs, a separate process in which our SDK binds the plain and
 * the end-to-end encrypted echo service as ralph-server and writes back every byte.
 * Dialers, both with the identity ralph-gotunnel:
 *  - ours: this process dials with ZitiContext.dial (the built SDK in dist/);
 *  - Go:   `ziti tunnel proxy --sdk-flow-control=false --default-connections=1` dials with the Go SDK; this
 *          process talks TCP to its proxy.v1 listener on 127.0.0.1, so Go's figures include that loopback hop
 *          and the proxy's own work per connection.
 * Like for like (row `go-hosted`, skipped with --no-go-hosted): both SDKs dial ralph-go-hosted, which
 * `ziti tunnel host` (the Go SDK) hosts and forwards to a TCP echo server in a process of its own
 * (bench/fixtures/tcp-echo.mjs), so both go through the same hop. Ours dials from this process as above; Go
 * dials from bench/fixtures/ziti-go-dialer (sdk-golang, built on first use by ziti-go-dialer.mjs), which
 * takes its own measurements, so neither side has a TCP hop between its SDK and its clock.
 * Measures per service: connect time (dial to first echoed byte, a fresh connection each time, p50/p90),
 * one-byte echo RTT over an open connection (p50/p99) and echo throughput of one connection (MiB/s).
 *
 *   node bench/ziti-sdk.mjs [--connects 30] [--rtt 2000] [--warmup 200] [--mib 64] [--rounds 5]
 *                           [--time-limit 900] [--plain-only] [--no-go-hosted]
 *
 * Targets: throughput >= 0.8x Go, RTT p50 <= 1.2x Go, connect p50 <= 1.5x Go. Exits 0 whether or not they
 * are met, 1 on an error, 2 when dist/ is missing. Without a `ziti` CLI it prints a notice and exits 0.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { findZitiBinary, INSTALL_HINT, startTestNetwork } from '../scripts/ziti-testnet-lib.mjs';
import {
  hasFlag,
  importDist,
  machineLine,
  nowMs,
  numberOption,
  ROOT,
  summarize,
  table,
  warnIfStale,
  withTimeout,
  writeSummary,
} from './lib/common.mjs';
import { compareService } from './ziti-compare.mjs';
import { buildGoDialer, startGoDialer } from './ziti-go-dialer.mjs';
import { startEchoHost } from './ziti-host-process.mjs';
import { connectOnce, openTcp, streamDriver } from './ziti-measure.mjs';
import { tableRows, targetChecks } from './ziti-report.mjs';

const PARAMS = {
  connects: numberOption('connects', 30, { min: 1, max: 500 }),
  rttSamples: numberOption('rtt', 2000, { min: 10, max: 100_000 }),
  warmup: numberOption('warmup', 200, { min: 0, max: 10_000 }),
  rttCapMs: 60_000,
  mib: numberOption('mib', 64, { min: 1, max: 1024 }),
  rounds: numberOption('rounds', 5, { min: 1, max: 10 }),
};
const LIMIT_MS = numberOption('time-limit', 900, { min: 30, max: 3600 }) * 1000;
const KEYS = hasFlag('plain-only') ? ['plain'] : ['plain', 'e2ee'];
const GO_HOSTED = !hasFlag('no-go-hosted');
/** The caller id our dialer announces, so the host can tell its connections from the proxy's. */
const CALLER = 'ralph-bench-ours';

const sdk = await importDist('src/ziti/index.js');
warnIfStale();

let net;
let host;
let proxy;
let ctx;
let goDialer;
let tunnelHost;
let tcpEcho;
let cleaning;
function cleanup() {
  cleaning ??= (async () => {
    await ctx?.close().catch(() => undefined);
    await goDialer?.stop().catch(() => undefined);
    await tunnelHost?.stop().catch(() => undefined);
    if (tcpEcho && tcpEcho.exitCode === null) tcpEcho.kill('SIGTERM');
    await proxy?.stop().catch(() => undefined);
    await host?.stop().catch(() => undefined);
    await net?.stop();
  })();
  return cleaning;
}

async function retry(tries, delayMs, what, attempt) {
  let last;
  for (let i = 0; i < tries; i++) {
    try {
      return await attempt();
    } catch (err) {
      last = err;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
  throw new Error(`${what}: ${last instanceof Error ? last.message : String(last)}`);
}

function startGoProxy(identityFile) {
  const args = ['tunnel', 'proxy', '-i', identityFile, '--sdk-flow-control=false', '--default-connections=1'];
  return net.spawnZiti([...args, '--cli-agent=false'], 'bench-go-proxy');
}

/** A TCP echo server in its own process on `port`, for `ziti tunnel host` to forward to. */
async function startTcpEcho(port) {
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'fixtures', 'tcp-echo.mjs'), String(port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await withTimeout(once(child.stdout, 'data'), 10_000, 'the TCP echo server to listen');
  return child;
}

/** The like-for-like row: our SDK and the Go SDK, each in its own process, dialing what `ziti tunnel host` hosts. */
async function compareGoHosted(goBinary, dialerFile) {
  const service = net.services.goHosted;
  tcpEcho = await startTcpEcho(net.goHostedTarget.port);
  const hostArgs = [
    'tunnel',
    'host',
    '-i',
    dialerFile,
    '--sdk-flow-control=false',
    '--default-connections=1',
  ];
  tunnelHost = net.spawnZiti([...hostArgs, '--cli-agent=false'], 'bench-go-host');
  await retry(120, 500, 'ziti tunnel host did not create a terminator', async () => {
    const out = await net.ziti(['edge', 'list', 'terminators', `service.name="${service}"`, '--output-json']);
    if ((JSON.parse(out).data ?? []).length === 0) throw new Error('no terminator yet');
  }).catch((err) => {
    throw new Error(`${err.message}\n${tunnelHost.logTail(30)}`);
  });
  goDialer = await startGoDialer(goBinary, dialerFile, service);
  const ourDialMs = [];
  const ours = streamDriver(async () => {
    const started = nowMs();
    const conn = await ctx.dial(service, { callerId: CALLER, timeoutMs: 15_000 });
    ourDialMs.push(nowMs() - started);
    return conn;
  });
  await retry(20, 500, `${service} did not answer`, () => ours.connect());
  const result = await compareService('go-hosted', { ours, go: goDialer }, PARAMS);
  // The dial call alone, of every connect (warm-up included): where the connect time goes.
  result.ours.dialCall = summarize(ourDialMs);
  result.go.dialCall = summarize(goDialer.dialMs);
  return result;
}

function report(bin, results) {
  const out = (line) => process.stdout.write(`${line}\n`);
  out(`\n${machineLine()}`);
  out(`${new Date().toISOString()}, ${bin}`);
  out(
    `host: our SDK in its own process as ${net.identities.server.name}; dialers as ${net.identities.gotunnel.name}: ` +
      'ours in this process, Go through ziti tunnel proxy (TCP on 127.0.0.1)',
  );
  if (results['go-hosted']) {
    out(
      `go-hosted: ${net.services.goHosted} hosted by ziti tunnel host (Go SDK) forwarding to a TCP echo ` +
        'process; dialers as ralph-gotunnel: ours in this process, Go (sdk-golang) in its own process, ' +
        'each timing in its own process',
    );
    const { ours, go } = results['go-hosted'];
    out(
      `go-hosted: the dial call alone (ctx.dial / Dial()), p50 ${ours.dialCall.p50.toFixed(2)} ms ours, ` +
        `${go.dialCall.p50.toFixed(2)} ms Go (n=${ours.dialCall.n}/${go.dialCall.n})`,
    );
  }
  for (const [label, n] of Object.entries(host.connections())) out(`host accepted: ${label} x${n}`);
  const header = ['service', 'metric', 'ours', 'Go', 'ratio', 'target', 'verdict'];
  out(
    `\n${table(
      header,
      Object.keys(results).flatMap((k) => tableRows(k, results[k], PARAMS.mib)),
    )}`,
  );
}

async function main() {
  const bin = findZitiBinary();
  if (!bin) {
    process.stdout.write(`SKIPPED: the ziti CLI was not found; ${INSTALL_HINT}\n`);
    writeSummary({ bench: 'ziti-sdk', skipped: 'no ziti CLI' });
    return;
  }
  // Built before the network starts, so that a first build does not eat into the measurements' time.
  const goBinary = GO_HOSTED ? buildGoDialer() : undefined;
  process.stderr.write('starting the OpenZiti test network on 127.0.0.1 ...\n');
  net = await startTestNetwork({ bin, timeoutMs: 180_000 });
  const dialerFile = net.identities.gotunnel.file;
  const hostScript = join(ROOT, 'bench', 'ziti-echo-host.mjs');
  host = await startEchoHost(
    hostScript,
    net.identities.server.file,
    KEYS.map((k) => net.services[k]),
  );
  proxy = startGoProxy(dialerFile);
  ctx = await sdk.ZitiContext.fromIdentityFile(dialerFile);

  const results = {};
  for (const key of KEYS) {
    const service = net.services[key];
    const open = {
      ours: () => ctx.dial(service, { callerId: CALLER, timeoutMs: 15_000 }),
      go: () => openTcp(net.proxyListeners[key]),
    };
    const sides = { ours: streamDriver(open.ours), go: streamDriver(open.go) };
    await retry(60, 500, `ziti tunnel proxy did not answer on ${key}`, () => connectOnce(open.go)).catch(
      (err) => {
        throw new Error(`${err.message}\n${proxy.logTail(30)}`);
      },
    );
    results[key] = await compareService(key, sides, PARAMS);
  }
  if (goBinary) results['go-hosted'] = await compareGoHosted(goBinary, dialerFile);

  report(bin, results);
  const verdicts = Object.fromEntries(
    Object.keys(results).map((k) => [k, targetChecks(results[k]).map((c) => `${c.label}: ${c.verdict}`)]),
  );
  writeSummary({
    bench: 'ziti-sdk',
    mib: PARAMS.mib,
    results,
    verdicts,
    hostConnections: host.connections(),
  });
}

async function run() {
  let failed = false;
  const limit = setTimeout(() => {
    process.stderr.write(`bench: error: the benchmark exceeded its ${LIMIT_MS / 1000} s limit\n`);
    void cleanup().finally(() => process.exit(1));
  }, LIMIT_MS);
  const onSignal = (signal) => {
    process.stderr.write(`\n${signal}: tearing the test network down ...\n`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await main();
  } catch (err) {
    failed = true;
    process.stderr.write(
      `bench: error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  try {
    await cleanup();
  } catch (err) {
    failed = true;
    process.stderr.write(`bench: cleanup failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  clearTimeout(limit);
  process.exit(failed ? 1 : 0);
}

await run();
