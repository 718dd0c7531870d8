#!/usr/bin/env node
/**
 * The SDK side of test/ziti/e2e/soak.test.ts, in a process of its own so that the test can read its memory
 * from /proc. It runs the built SDK (dist/), binds the service as the server identity (echoing every byte),
 * and dials it as the client identity once a second, each dial bounded, until stdin closes or maxMs has passed.
 *
 *   node test/ziti/e2e/soak-process.mjs '<json: { sdk, server, client, service, dialTimeoutMs, intervalMs,
 *                                                  maxMs }>'
 *
 * stdout carries one JSON object per line: {"ready":pid} once bound, {"dial":{n,at,ok,ms,code?,error?}} per
 * dial, {"server":{event,...}} for the server's rebind/error/close events, {"mem":process.memoryUsage()}
 * every 30 s, and {"done":{dials,failed}} before it exits.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const cfg = JSON.parse(process.argv[2] ?? '{}');
const { ZitiContext } = await import(pathToFileURL(cfg.sdk).href);
const say = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const errorFields = (err) => ({
  code: err?.code ?? null,
  error: err instanceof Error ? err.message : String(err),
});

let stopping = false;
const hardStop = setTimeout(() => (stopping = true), cfg.maxMs);
hardStop.unref();
process.stdin.on('end', () => (stopping = true));
process.stdin.on('error', () => (stopping = true));
process.stdin.resume();

// Legacy login: its API sessions are what the soak lists and ends on the controller.
const options = { controller: { auth: 'legacy' } };
const serverCtx = await ZitiContext.fromIdentityFile(cfg.server, options);
const clientCtx = await ZitiContext.fromIdentityFile(cfg.client, options);
const server = await serverCtx.bind(cfg.service, {
  // As patient as the soak is long: an outage is measured in failed dials, not ended by the server.
  rebind: { initialDelayMs: 250, maxDelayMs: 2_000, maxAttempts: 1_000_000, maxOutageMs: 24 * 3_600_000 },
});
server.on('connection', (conn) => {
  conn.on('error', () => conn.destroy());
  conn.pipe(conn);
});
server.on('rebind', (e) => say({ server: { event: 'rebind', router: e.router, attempts: e.attempts } }));
server.on('error', (err) => say({ server: { event: 'error', ...errorFields(err) } }));
server.on('close', () => say({ server: { event: 'close' } }));
await server.ready(60_000);
say({ ready: process.pid });

/** One dial: connect, send 16 bytes, read them back, half-close; bounded by dialTimeoutMs overall. */
async function dialOnce() {
  const payload = randomBytes(16);
  let conn;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () =>
        reject(Object.assign(new Error(`no echo within ${cfg.dialTimeoutMs} ms`), { code: 'SOAK_TIMEOUT' })),
      cfg.dialTimeoutMs,
    );
  });
  try {
    await Promise.race([
      (async () => {
        conn = await clientCtx.dial(cfg.service, { timeoutMs: cfg.dialTimeoutMs });
        const echoed = new Promise((resolve, reject) => {
          let got = Buffer.alloc(0);
          conn.on('data', (chunk) => {
            got = Buffer.concat([got, chunk]);
            if (got.length >= payload.length) resolve(got);
          });
          conn.once('error', reject);
          conn.once('end', () => reject(new Error(`the connection ended after ${got.length} bytes`)));
        });
        conn.write(payload);
        const got = await echoed;
        if (!got.subarray(0, payload.length).equals(payload)) throw new Error('the echo differs');
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    conn?.end();
    conn?.destroy();
  }
}

const memTimer = setInterval(() => say({ mem: process.memoryUsage() }), 30_000);
let dials = 0;
let failed = 0;
while (!stopping) {
  const started = Date.now();
  dials += 1;
  try {
    await dialOnce();
    say({ dial: { n: dials, at: started, ok: true, ms: Date.now() - started } });
  } catch (err) {
    failed += 1;
    say({ dial: { n: dials, at: started, ok: false, ms: Date.now() - started, ...errorFields(err) } });
  }
  const wait = started + cfg.intervalMs - Date.now();
  if (wait > 0 && !stopping) await new Promise((resolve) => setTimeout(resolve, wait));
}
clearInterval(memTimer);
say({ done: { dials, failed } });
const exitTimer = setTimeout(() => process.exit(0), 5_000);
exitTimer.unref();
await server.close().catch(() => undefined);
await clientCtx.close().catch(() => undefined);
await serverCtx.close().catch(() => undefined);
process.exit(0);
