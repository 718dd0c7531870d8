#!/usr/bin/env node
/**
 * The host side of bench/ziti-sdk.mjs, in a process of its own: our SDK binds the given services with the
 * given identity and writes back every byte of every connection (ending its side when the caller ends).
 *
 *   node bench/ziti-echo-host.mjs <identity.json> <service> [<service> ...]
 *
 * stdout carries one JSON object per line: {"ready":[services]} once every bind is confirmed, then
 * {"conn":{service,caller,encrypted}} per accepted connection. Exits when stdin closes (its parent is gone),
 * on SIGTERM/SIGINT, or with status 1 when a bind fails.
 */
import { importDist } from './lib/common.mjs';

const [identityFile, ...services] = process.argv.slice(2);
if (!identityFile || services.length === 0) {
  process.stderr.write('usage: node bench/ziti-echo-host.mjs <identity.json> <service> [<service> ...]\n');
  process.exit(2);
}

const { ZitiContext } = await importDist('src/ziti/index.js');
let ctx;
let stopping = false;

function say(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

async function stop(code) {
  if (stopping) return;
  stopping = true;
  const timer = setTimeout(() => process.exit(code), 5_000);
  timer.unref();
  await ctx?.close().catch(() => undefined);
  process.exit(code);
}

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => void stop(0));
process.stdin.on('end', () => void stop(0));
process.stdin.on('error', () => void stop(0));
process.stdin.resume();

try {
  ctx = await ZitiContext.fromIdentityFile(identityFile);
  for (const service of services) {
    const server = await ctx.bind(service, { precedence: 'required' });
    server.on('connection', (conn) => {
      say({ conn: { service: conn.service, caller: conn.callerId ?? null, encrypted: conn.encrypted } });
      conn.on('error', (err) => {
        process.stderr.write(`echo host: ${service}: connection ${conn.connId}: ${err.message}\n`);
        conn.destroy();
      });
      conn.pipe(conn);
    });
    server.on('error', (err) => process.stderr.write(`echo host: ${service}: ${err.message}\n`));
    await server.ready(60_000);
  }
  say({ ready: services });
} catch (err) {
  process.stderr.write(`echo host: ${err instanceof Error ? err.message : String(err)}\n`);
  await stop(1);
}
