#!/usr/bin/env node
/**
 * Where one `ralph status` against one reachable remote spends its time, step by step, in a fresh process:
 *   node bench/lib/status-steps.mjs <dist> <identity-file> <service>
 * Prints one JSON object of milliseconds: module loads, controller requests (each one, from the SDK's
 * `request` events), router channel + dial, the daemon's greeting, authenticate, list_loops.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, identityFile, service] = process.argv.slice(2);
const t0 = performance.now();
const marks = [];
let last = t0;
const mark = (name) => {
  const now = performance.now();
  marks.push([name, Math.round((now - last) * 10) / 10]);
  last = now;
};
const load = (rel) => import(pathToFileURL(join(dist, rel)).href);

const { ZitiContext } = await load('src/ziti/context.js');
mark('load Ziti SDK (context.js and what it imports)');
const { RpcClient } = await load('src/protocol/index.js');
const { dialZiti } = await load('src/transport/ziti.js');
const { proveIdentity } = await load('src/daemon/auth.js');
mark('load protocol, transport, auth');
const { loadIdentity } = await load('src/ziti/identity.js');
const identity = await loadIdentity(identityFile);
mark('read identity file');
const ctx = new ZitiContext(identity, { controller: { timeoutMs: 10_000 } });
let reqStart = performance.now();
ctx.controller.on('request', (r) => {
  const now = performance.now();
  marks.push([
    `  controller ${r.method} ${r.path.replace(/^.*\/v1/, '')} (${r.status})`,
    Math.round((now - reqStart) * 10) / 10,
  ]);
  reqStart = now;
});
await ctx.controller.authenticate();
mark(`controller login (${ctx.controller.authMethod()})`);
reqStart = performance.now();
const stream = await dialZiti(ctx, service, { timeoutMs: 10_000 });
mark('dial: service lookup + session + router TLS/hello + edge dial');
const rpc = new RpcClient(stream, { defaultTimeoutMs: 10_000 });
const hello = await new Promise((resolve) =>
  rpc.on('notification', (method, params) => method === 'hello' && resolve(params)),
);
mark('daemon hello');
if (hello.auth !== 'none') {
  await rpc.call('authenticate', proveIdentity(ctx.identity, hello.nonce, service));
  mark('authenticate');
}
const list = await rpc.call('list_loops', {});
mark(`list_loops (${list.loops.length} loops)`);
rpc.close();
await ctx.close();
marks.push(['total', Math.round(performance.now() - t0)]);
process.stdout.write(`${JSON.stringify(marks)}\n`);
