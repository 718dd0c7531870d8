/**
 * Several edge routers: a server holds terminators on two of them and stays reachable while one stops; a
 * server re-binds on a router added after it bound when its own router stops; `rebind.forever` outlasts
 * its attempt and time limits; close() is bounded on a stalled link. Runs on a private network (it adds,
 * stops and freezes routers).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { ZitiContext } from '../../../src/ziti/context.js';
import type { EdgeConn } from '../../../src/ziti/edge/conn.js';
import type { RebindEvent, ServerState } from '../../../src/ziti/edge/server.js';
import { startTestNetwork, zitiTestsEnabled, type AddedRouter, type TestNetwork } from '../network.js';
import { listening, nextEvent, pipeEcho, readAll, retry, uniqueName } from './helpers.js';

/** Polls `check` every 200 ms until it is true; throws after timeoutMs. */
async function until(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(200);
  }
}

interface DialLog {
  at: number;
  ok: boolean;
  error?: string;
}

/** Dials every 200 ms until stopped; returns the log. Each dial is one echo round trip. */
function dialEvery200ms(dial: () => Promise<void>): { stop: () => Promise<DialLog[]> } {
  const log: DialLog[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running && i < 3_000; i++) {
      const at = Date.now();
      try {
        await dial();
        log.push({ at, ok: true });
      } catch (err) {
        log.push({ at, ok: false, error: (err as Error).message });
      }
      await sleep(Math.max(0, 200 - (Date.now() - at)));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return log;
    },
  };
}

function longestFailureRun(log: DialLog[]): { count: number; ms: number } {
  let best = { count: 0, ms: 0 };
  let start = -1;
  for (let i = 0; i <= log.length; i++) {
    const entry = log[i];
    if (entry && !entry.ok) {
      if (start < 0) start = i;
      continue;
    }
    if (start >= 0) {
      const count = i - start;
      const ms = (entry?.at ?? log[i - 1]!.at) - log[start]!.at;
      if (count > best.count) best = { count, ms };
      start = -1;
    }
  }
  return best;
}

describe.skipIf(!zitiTestsEnabled())('several edge routers', () => {
  let net: TestNetwork;
  let second: AddedRouter;
  let third: AddedRouter | undefined;
  let clientCtx: ZitiContext;
  const contexts: ZitiContext[] = [];

  async function serverContext(options: ConstructorParameters<typeof ZitiContext>[1] = {}) {
    const ctx = await ZitiContext.fromIdentityFile(net.identities.server.file, options);
    contexts.push(ctx);
    return ctx;
  }

  async function echo(service: string, text: string, timeoutMs = 5_000): Promise<void> {
    const conn = await clientCtx.dial(service, { timeoutMs });
    const answer = readAll(conn, timeoutMs);
    conn.end(Buffer.from(text));
    const got = (await answer).toString();
    if (got !== text) throw new Error(`echo answered "${got}"`);
  }

  beforeAll(async () => {
    net = await startTestNetwork();
    second = await net.addRouter('ralph-router-2');
    clientCtx = await ZitiContext.fromIdentityFile(net.identities.client.file, {
      sessionRefreshMs: 2_000,
    });
  }, 240_000);

  afterAll(async () => {
    await clientCtx?.close();
    for (const ctx of contexts) await ctx.close();
    await net?.stop();
  });

  it('adds a router to the harness that the controller reports online and the SDK can use', async () => {
    const out = await net.ziti(['edge', 'list', 'edge-routers', 'name="ralph-router-2"', '--output-json']);
    const listed = (JSON.parse(out) as { data: Array<{ isOnline: boolean }> }).data;
    expect(listed[0]?.isOnline).toBe(true);
    expect(second.pid()).not.toBeNull();
    expect(second.url).toBe(`tls://127.0.0.1:${second.port}`);
  }, 60_000);

  it('with terminators: 2 keeps the service dialable while one of its routers stops', async () => {
    const service = net.services.plain;
    const ctx = await serverContext({ sessionRefreshMs: 2_000 });
    const server = await ctx.bind(service, {
      terminators: 2,
      refillIntervalMs: 1_000,
      rebind: { forever: true, initialDelayMs: 200, maxDelayMs: 2_000 },
    });
    server.on('connection', pipeEcho);
    await listening(server);
    await until('terminators on both routers', 60_000, () => server.routerNames.length === 2);
    expect(new Set(server.routerNames)).toEqual(new Set([net.routerName, second.name]));
    await retry(20, 500, () => echo(service, 'warm'));

    const dials = dialEvery200ms(() => echo(service, 'ping'));
    await sleep(1_000);
    const stoppedAt = Date.now();
    await second.stop();
    await sleep(3_000);
    const log = await dials.stop();
    const worst = longestFailureRun(log);
    const failures = log.filter((d) => !d.ok);
    console.log(
      `[terminators] one of two routers stopped: ${log.length} dials, ${failures.length} failed, ` +
        `longest failure run ${worst.count} (${worst.ms} ms); stop took ${Date.now() - stoppedAt - 3_000} ms` +
        (failures.length ? `; first failure: ${failures[0]!.error}` : ''),
    );
    expect(log.length).toBeGreaterThan(10);
    expect(worst.count).toBeLessThanOrEqual(1);
    expect(server.routerNames).toEqual([net.routerName]);

    // The router comes back: the server takes up its second terminator again.
    await second.start();
    await until('a second terminator again', 60_000, () => server.routerNames.length === 2);
    await server.close();
  }, 240_000);

  it('rebind.forever keeps trying past its attempt and time limits, emitting state events', async () => {
    const service = net.services.e2ee;
    const ctx = await serverContext();
    const server = await ctx.bind(service, {
      terminators: 1,
      rebind: { forever: true, maxAttempts: 2, maxOutageMs: 500, initialDelayMs: 100, maxDelayMs: 400 },
    });
    const states: ServerState[] = [];
    const errors: Error[] = [];
    server.on('state', (s) => states.push(s));
    server.on('error', (err) => errors.push(err));
    server.on('connection', pipeEcho);
    await listening(server);
    const bound = server.routerName!;
    const router = bound === net.routerName ? null : second;
    await (router ? router.stop() : net.stopRouter());
    // Both routers down for a while: far more attempts and time than maxAttempts/maxOutageMs allow.
    const other = router ? null : second;
    await (other ? other.stop() : net.stopRouter());
    await sleep(3_000);
    // (Stopping one router at a time may end in a short outage on the other first: count the last one.)
    const lastBound = states.map((s) => s.state).lastIndexOf('bound-again');
    const attempts = states.slice(lastBound + 1).filter((s) => s.state === 'rebinding').length;
    expect(attempts).toBeGreaterThan(2);
    expect(errors).toEqual([]);
    const again = nextEvent<RebindEvent>(server, 'rebind', 90_000);
    await net.startRouter();
    await second.start();
    await again;
    await listening(server, 30_000);
    const last = states.at(-1);
    expect(last).toMatchObject({ state: 'bound-again' });
    expect(last?.state === 'bound-again' && last.attempts).toBeGreaterThan(2);
    console.log(
      `[terminators] forever: ${attempts} rebinding states while both routers were down, then ` +
        `bound again after ${last?.state === 'bound-again' ? last.outageMs : -1} ms`,
    );
    await retry(30, 500, () => echo(service, 'back'));
    expect(states[0]).toMatchObject({ state: 'rebinding', attempt: 1 });
    // Capped backoff: no delay above maxDelayMs; attempts numbered 1, 2, 3, … within each outage.
    let expected = 1;
    for (const s of states) {
      if (s.state !== 'rebinding') {
        expected = 1;
        continue;
      }
      expect(s.attempt).toBe(expected);
      expect(s.delayMs).toBeLessThanOrEqual(400);
      expected += 1;
    }
    expect(errors).toEqual([]);
    await server.close();
  }, 240_000);

  it('re-binds on another router when the bind’s router stops, and on a router added after the bind', async () => {
    const service = net.services.plain;
    // Default session refresh age (60 s): only failures make it read the router list again here.
    const ctx = await serverContext();
    const server = await ctx.bind(service, {
      terminators: 1,
      rebind: { forever: true, initialDelayMs: 200, maxDelayMs: 2_000 },
    });
    server.on('connection', pipeEcho);
    await listening(server);
    await retry(20, 500, () => echo(service, 'warm'));
    third = await net.addRouter('ralph-router-3');
    const added = third;
    const boundOn = server.routerName!;
    const stopOriginal = (name: string) => (name === net.routerName ? net.stopRouter() : second.stop());
    const dials = dialEvery200ms(() => echo(service, 'ping'));
    await sleep(600);

    // Two routers known at bind time, a third added since: stop the bind's router.
    const rebound = nextEvent<RebindEvent>(server, 'rebind', 90_000);
    const stoppedAt = Date.now();
    await stopOriginal(boundOn);
    await rebound;
    const reboundMs = Date.now() - stoppedAt;
    await listening(server, 30_000);
    await sleep(2_000);
    const log = await dials.stop();
    const worst = longestFailureRun(log);
    console.log(
      `[terminators] bind's router stopped: re-bound on ${server.routerName} ${reboundMs} ms after the ` +
        `stop began; ${log.filter((d) => !d.ok).length} of ${log.length} dials failed, longest failure run ` +
        `${worst.count} (${worst.ms} ms)`,
    );
    expect(server.routerName).toBeDefined();
    expect(server.routerName).not.toBe(boundOn);
    expect(log.at(-1)?.ok).toBe(true);
    // Generous: the client's outage is the re-bind time plus the dials' own retries.
    expect(worst.ms).toBeLessThanOrEqual(reboundMs + 5_000);

    // Stop the other router known at bind time too: only the router added after the bind is left.
    const other = boundOn === net.routerName ? second.name : net.routerName;
    const movedAt = Date.now();
    await stopOriginal(other);
    await until('bound on the router added after the bind', 90_000, () => server.routerName === added.name);
    await listening(server, 30_000);
    await retry(30, 500, () => echo(service, 'on the new router'));
    console.log(
      `[terminators] both original routers stopped: bound on ${added.name} after ${Date.now() - movedAt} ms`,
    );
    await server.close();
    await net.startRouter();
    await second.start();
  }, 300_000);

  it('close() is bounded when the router stops reading (SIGSTOP)', async () => {
    const service = net.services.plain;
    const ctx = await serverContext({ probeIntervalMs: 600_000, probeTimeoutMs: 600_000 });
    // Its own terminator identity: the dial below reaches this server and no other.
    const terminatorIdentity = uniqueName('stalled-close');
    const server = await ctx.bind(service, { terminators: 1, closeTimeoutMs: 1_000, terminatorIdentity });
    const accepted: EdgeConn[] = [];
    server.on('connection', (conn) => {
      accepted.push(conn);
      conn.on('error', () => conn.destroy());
    });
    await listening(server);
    const routerName = server.routerName!;
    const added = [second, third].find((r) => r?.name === routerName);
    const pid = routerName === net.routerName ? net.routerPid() : (added?.pid() ?? null);
    expect(pid).not.toBeNull();
    const conn = await retry(20, 500, () =>
      clientCtx.dial(service, { timeoutMs: 5_000, terminatorIdentity }),
    );
    conn.on('error', () => undefined);
    await until('the server accepted the connection', 10_000, () => accepted.length === 1);
    process.kill(-pid!, 'SIGSTOP');
    try {
      // Fill the link well past what the kernel buffers take, so that the TLS socket stops draining.
      const chunk = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < 48; i++) accepted[0]!.write(chunk);
      await sleep(1_500);
      expect(ctx.routers().map((r) => r.name)).toContain(routerName);
      const started = Date.now();
      const closed = await Promise.race([server.close().then(() => true), sleep(30_000).then(() => false)]);
      const elapsed = Date.now() - started;
      console.log(`[terminators] close() on a stalled link returned after ${elapsed} ms`);
      expect(closed).toBe(true);
      // The Unbind could not be written: the stalled channel was destroyed, not left hanging.
      expect(ctx.routers().map((r) => r.name)).not.toContain(routerName);
    } finally {
      process.kill(-pid!, 'SIGCONT');
      conn.destroy();
    }
  }, 120_000);
});
