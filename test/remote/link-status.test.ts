/**
 * `ralph status` through the link, on a real OpenZiti test network with the built `ralph daemon`: the rows and
 * the remotes' answers are the same as on the direct path (a reachable box, a remote whose controller is down,
 * one whose controller never answers and so counts as unreachable at the timeout); a status that finds no link
 * starts one in the background, which connects to the remotes by itself, and the next status goes through it;
 * the link dials the daemon again after the daemon restarts; `ralph link stop` ends it, and it ends by itself
 * when idle. Times are printed, never asserted.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdentity } from '../../src/ziti/identity.js';
import { linkLogFile, linkSocketPath } from '../../src/client/remote/link/paths.js';
import { Registry, type SessionRecord } from '../../src/registry/index.js';
import { isAlive } from '../../src/util/proc.js';
import { ensureCliBuilt } from '../cli/built.js';
import { recordModules } from '../support/loaded-modules.js';
import { CliSandbox, waitFor } from '../cli/harness.js';
import {
  createDaemonService,
  startDaemonProcess,
  writeDaemonConfig,
  type DaemonProcess,
  type DaemonSetup,
} from '../daemon/harness.js';
import { uniqueName } from '../ziti/e2e/helpers.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../ziti/network.js';
import { writeIdentity } from './identities.js';

/** The test suite turns the link off (vitest.config.ts); these tests turn it back on. */
const WITH_LINK = { RALPH_NO_LINK: '' };

interface StatusJson {
  sessions: SessionRecord[];
  reconciled: Record<string, number[]>;
  remotes: { name: string; reachable: boolean; error: string | null; ms: number; loops: number }[];
}

interface LinkStatusJson {
  running: boolean;
  pid?: number;
  remotes?: { name: string; state: string; connected_at: string | null; calls: number }[];
}

describe.skipIf(!zitiTestsEnabled())('ralph status through the link', () => {
  const laptops: CliSandbox[] = [];
  let net: TestNetwork;
  let box: CliSandbox;
  let setup: DaemonSetup;
  let daemon: DaemonProcess;
  let hole: Server;
  const held: Socket[] = [];
  let holeIdentity = '';
  let downIdentity = '';
  const service = uniqueName('ralph-link');

  beforeAll(async () => {
    await ensureCliBuilt();
    net = await acquireTestNetwork();
    await createDaemonService(net, service);
    box = new CliSandbox();
    // Loops the box's registry knows: the daemon lists them, and each laptop adds rows for them.
    boxLoop('done-task', 'completed', 'all stories pass', 'claude', '2026-01-02');
    boxLoop('bad-task', 'failed', 'agent exited 1', 'claude', '2026-01-02');
    setup = writeDaemonConfig(box, {
      identity: net.identities.server.file,
      service,
      roles: { [(await loadIdentity(net.identities.client.file)).name]: 'control' },
    });
    daemon = await startDaemonProcess(box, setup, []);
    hole = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    holeIdentity = await writeIdentity(
      box.root,
      'hole',
      `https://127.0.0.1:${(hole.address() as { port: number }).port}`,
    );
    downIdentity = await writeIdentity(box.root, 'down', `https://127.0.0.1:${closedPort}`);
    // Bounded: the daemon's service answers over the overlay once its terminator is known.
    const first = await laptop();
    await waitFor(
      async () => (await first.ralph(['remote', 'test', 'box'])).exitCode === 0,
      'the daemon to answer over the overlay',
      60_000,
    );
  }, 180_000);

  afterAll(async () => {
    for (const sb of laptops) await sb.dispose();
    for (const s of held) s.destroy();
    await new Promise<void>((resolve) => hole?.close(() => resolve()));
    await daemon?.stop('SIGTERM');
    await box?.dispose();
    if (net !== undefined) {
      await net.ziti(['edge', 'delete', 'service', service]).catch(() => undefined);
      await net.stop();
    }
  });

  /** A loop that ended on the box, as its registry records it. */
  function boxLoop(
    task: string,
    status: 'completed' | 'failed',
    reason: string,
    agent: string,
    day: string,
  ): void {
    const registry = Registry.open(box.paths.registryFile);
    try {
      registry.create({
        task,
        location: 'local',
        transport: 'unix',
        address: join(box.paths.runDir, `${task}.sock`),
        agent,
        taskDir: join(box.root, 'tasks', task),
        maxIterations: 5,
        status,
        iteration: 3,
        startedAt: `${day}T03:04:05.000Z`,
        endedAt: `${day}T04:04:05.000Z`,
        exitReason: reason,
      });
    } finally {
      registry.close();
    }
  }

  /** A laptop with three remotes: the box, one whose controller is down, one whose controller never answers. */
  async function laptop(): Promise<CliSandbox> {
    const sb = new CliSandbox();
    laptops.push(sb);
    for (const [name, identity, svc] of [
      ['box', net.identities.client.file, service],
      ['down', downIdentity, 'ralph-down'],
      ['hole', holeIdentity, 'ralph-hole'],
    ] as const) {
      const added = await sb.ralph(['remote', 'add', name, '--identity', identity, '--service', svc]);
      expect(added.exitCode, added.stderr).toBe(0);
    }
    // Whatever link a test started ends with it.
    sb.defer(async () => {
      const state = await linkState(sb);
      await sb.ralph(['link', 'stop']);
      if (state.pid !== undefined && isAlive(state.pid)) process.kill(state.pid, 'SIGKILL');
    });
    return sb;
  }

  async function linkState(sb: CliSandbox): Promise<LinkStatusJson> {
    const r = await sb.ralph(['link', 'status', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as LinkStatusJson;
  }

  async function status(sb: CliSandbox, args: string[], env: NodeJS.ProcessEnv = {}): Promise<StatusJson> {
    const started = performance.now();
    const r = await sb.ralph(['status', '--json', '--remote-timeout', '1500ms', ...args], {
      env,
      timeoutMs: 30_000,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as StatusJson;
    console.log(
      `[link] status ${args.join(' ') || '(link)'}: ${(performance.now() - started).toFixed(0)} ms; ` +
        out.remotes.map((x) => `${x.name} ${x.reachable ? 'ok' : 'unreachable'} ${x.ms} ms`).join(', '),
    );
    return out;
  }

  /** What must read the same either way: the rows (not their local ids or times) and each remote's answer. */
  function comparable(out: StatusJson): unknown {
    return {
      sessions: out.sessions
        .map((s) => ({
          task: s.task,
          remote: s.remoteName,
          status: s.status,
          iteration: s.iteration,
          max: s.maxIterations,
          agent: s.agent,
          taskDir: s.taskDir,
          startedAt: s.startedAt,
          endedAt: s.endedAt,
          exitReason: s.exitReason,
        }))
        .sort((a, b) => `${a.remote}:${a.task}`.localeCompare(`${b.remote}:${b.task}`)),
      counts: Object.fromEntries(Object.entries(out.reconciled).map(([k, v]) => [k, v.length])),
      remotes: out.remotes.map((r) => ({
        name: r.name,
        reachable: r.reachable,
        error: r.error,
        loops: r.loops,
      })),
    };
  }

  it('gives the rows and remote answers of the direct path: the box listed, down and hole unreachable', async () => {
    const direct = await laptop();
    const linked = await laptop();
    const started = await linked.ralph(['link', 'start'], { env: WITH_LINK });
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/started the link \(pid \d+\)/);

    const a = await status(direct, ['--no-link'], WITH_LINK);
    const b = await status(linked, [], WITH_LINK);
    expect(comparable(b)).toEqual(comparable(a));
    expect(b.remotes.map((r) => [r.name, r.reachable])).toEqual([
      ['box', true],
      ['down', false],
      ['hole', false],
    ]);
    expect(b.remotes.find((r) => r.name === 'box')!.loops).toBe(2);
    expect(b.remotes.find((r) => r.name === 'hole')!.error).toMatch(/no answer within 1500 ms/);
    expect(b.sessions.find((s) => s.task === 'done-task')).toMatchObject({
      remoteName: 'box',
      status: 'completed',
    });

    // The link did the asking: it holds a connection to the box and counted the call. `--no-link` started none.
    const state = await linkState(linked);
    expect(state.running).toBe(true);
    expect(state.remotes?.find((r) => r.name === 'box')).toMatchObject({ state: 'connected', calls: 1 });
    expect((await linkState(direct)).running).toBe(false);

    // The table reads the same, the times in the unreachable lines aside.
    const plain = async (sb: CliSandbox, args: string[]): Promise<string> => {
      const r = await sb.ralph(['status', '--remote-timeout', '1500ms', ...args], { env: WITH_LINK });
      expect(r.exitCode, r.stderr).toBe(0);
      return r.stdout.replace(/after \d+ ms/g, 'after N ms');
    };
    expect(await plain(linked, [])).toBe(await plain(direct, ['--no-link']));
    expect((await linkState(linked)).remotes?.find((r) => r.name === 'box')?.calls).toBe(2);

    // Nothing is kept: a loop the box's registry gains shows at the next status through the link.
    boxLoop('new-task', 'completed', 'all stories pass', 'codex', '2026-01-03');
    const later = await status(linked, [], WITH_LINK);
    expect(later.remotes.find((r) => r.name === 'box')?.loops).toBe(3);
    expect(later.sessions.find((s) => s.task === 'new-task')).toMatchObject({
      remoteName: 'box',
      agent: 'codex',
    });
  });

  it('through the link, status loads neither a schema library nor the overlay code', async () => {
    const sb = await laptop();
    expect((await sb.ralph(['link', 'start'], { env: WITH_LINK })).exitCode).toBe(0);
    const record = recordModules(join(sb.root, 'modules.txt'));
    const out = await status(sb, [], { ...WITH_LINK, ...record.env });
    expect(out.remotes.find((r) => r.name === 'box')?.reachable).toBe(true);
    // The link answered: the box's answer did not come from a connection of the status process itself.
    expect((await linkState(sb)).remotes?.find((r) => r.name === 'box')).toMatchObject({ calls: 1 });
    const sources = record.sources();
    expect(sources).toContain('src/client/remote/link/client.ts');
    for (const heavy of [
      'node_modules/zod/',
      'node_modules/libsodium',
      'src/ziti/context.ts',
      'src/ziti/edge/',
    ])
      expect(
        sources.filter((s) => s.startsWith(heavy)),
        heavy,
      ).toEqual([]);
  });

  it('a status that finds no link starts one for next time; link stop ends it', async () => {
    const sb = await laptop();
    expect((await linkState(sb)).running).toBe(false);
    const first = await status(sb, [], WITH_LINK);
    expect(first.remotes.find((r) => r.name === 'box')?.reachable).toBe(true);
    // Started in the background, not waited for: it answers shortly after.
    const pid = await waitFor(
      async () => {
        const s = await linkState(sb);
        return s.running ? s.pid : null;
      },
      'the link started by status to answer',
      20_000,
    );
    // It dials the configured remotes as it starts, before any command asks: the box's connection opens.
    const warmed = await waitFor(
      async () => (await linkState(sb)).remotes?.find((r) => r.name === 'box' && r.state === 'connected'),
      'the link to connect to the box by itself',
      20_000,
    );
    expect(warmed.calls).toBe(0);
    const second = await status(sb, [], WITH_LINK);
    const remotesOf = (out: StatusJson): unknown => (comparable(out) as { remotes: unknown }).remotes;
    expect(remotesOf(second)).toEqual(remotesOf(first));
    expect((await linkState(sb)).remotes?.find((r) => r.name === 'box')).toMatchObject({ calls: 1 });

    // RALPH_NO_LINK=1 leaves it alone.
    await status(sb, [], { RALPH_NO_LINK: '1' });
    expect((await linkState(sb)).remotes?.find((r) => r.name === 'box')).toMatchObject({ calls: 1 });

    const stop = await sb.ralph(['link', 'stop']);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`stopped the link (pid ${pid})`);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(linkSocketPath(sb.paths))).toBe(false);
    expect((await linkState(sb)).running).toBe(false);
    expect((await sb.ralph(['link', 'stop'])).stdout).toContain('link: not running');
  });

  it('ends by itself after its idle period with no client', async () => {
    const sb = await laptop();
    const env = { ...WITH_LINK, RALPH_LINK_IDLE_MS: '400' };
    const started = await sb.ralph(['link', 'start'], { env });
    expect(started.exitCode, started.stderr).toBe(0);
    const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
    expect(isAlive(pid)).toBe(true);
    await waitFor(() => !isAlive(pid), 'the idle link to exit', 20_000);
    expect(readFileSync(linkLogFile(sb.paths), 'utf8')).toContain('stopping: no client for 400 ms');
    expect(existsSync(linkSocketPath(sb.paths))).toBe(false);
  });

  // Last: it restarts the daemon the other tests use.
  it('dials the daemon again after it restarts', async () => {
    const sb = await laptop();
    expect((await sb.ralph(['link', 'start'], { env: WITH_LINK })).exitCode).toBe(0);
    expect((await status(sb, [], WITH_LINK)).remotes.find((r) => r.name === 'box')?.reachable).toBe(true);
    const before = (await linkState(sb)).remotes?.find((r) => r.name === 'box');
    expect(before?.state).toBe('connected');

    expect(await daemon.stop('SIGTERM')).toBe(0);
    const down = await status(sb, [], WITH_LINK);
    expect(down.remotes.find((r) => r.name === 'box')?.reachable).toBe(false);
    daemon = await startDaemonProcess(box, setup, []);
    const back = await waitFor(
      async () => {
        const s = await status(sb, [], WITH_LINK);
        return s.remotes.find((r) => r.name === 'box')?.reachable === true ? s : null;
      },
      'status through the link to reach the restarted daemon',
      60_000,
    );
    expect(back.remotes.find((r) => r.name === 'box')?.loops).toBeGreaterThanOrEqual(2);
    const after = (await linkState(sb)).remotes?.find((r) => r.name === 'box');
    expect(after?.state).toBe('connected');
    expect(after?.connected_at).not.toBe(before?.connected_at);
  });
});
