/**
 * `ralph status` with remotes that cannot answer: one whose controller accepts connections and never answers
 * (a black hole), one whose controller is down (nothing listens). Their rows become `unreachable` with their
 * last-seen time kept, local rows are still listed, and the command returns once the remote timeout has passed.
 * Time is printed, never asserted.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopStatus } from '../../src/client/status.js';
import { Registry, type SessionRecord } from '../../src/registry/index.js';
import { useCliSandbox } from '../cli/harness.js';
import { writeIdentity } from './identities.js';

const sandbox = useCliSandbox();

describe('ralph status with unreachable remotes', () => {
  let hole: Server;
  const held: Socket[] = [];
  let holePort = 0;
  let closedPort = 0;

  beforeAll(async () => {
    hole = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    holePort = (hole.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });

  afterAll(async () => {
    for (const s of held) s.destroy();
    await new Promise<void>((resolve) => hole.close(() => resolve()));
  });

  it('marks their rows unreachable, keeps last_seen, and returns after the timeout', async () => {
    const sb = sandbox();
    const holeId = await writeIdentity(sb.root, 'hole', `https://127.0.0.1:${holePort}`);
    const downId = await writeIdentity(sb.root, 'down', `https://127.0.0.1:${closedPort}`);
    for (const [name, identity] of [
      ['hole', holeId],
      ['down', downId],
    ] as const) {
      const added = await sb.ralph([
        'remote',
        'add',
        name,
        '--identity',
        identity,
        '--service',
        `ralph-${name}`,
      ]);
      expect(added.exitCode, added.stderr).toBe(0);
    }
    const lastSeen = '2026-01-02T03:04:05.000Z';
    const registry = Registry.open(sb.paths.registryFile);
    let rows: SessionRecord[];
    try {
      rows = ['hole', 'down'].map((remote) =>
        registry.create({
          task: `job-${remote}`,
          location: 'remote',
          transport: 'ziti',
          address: `ralph-${remote}`,
          identity: remote === 'hole' ? holeId : downId,
          remoteName: remote,
          agent: 'claude',
          taskDir: `tasks/job-${remote}`,
          maxIterations: 5,
          status: 'running',
          lastSeen,
        }),
      );
      registry.create({
        task: 'here',
        location: 'local',
        transport: 'unix',
        address: join(sb.root, 'here.sock'),
        agent: 'claude',
        taskDir: join(sb.root, 'here'),
        maxIterations: 3,
        status: 'completed',
      });
    } finally {
      registry.close();
    }

    const started = performance.now();
    const result = await sb.ralph(['status', '--json', '--remote-timeout', '1s'], { timeoutMs: 20_000 });
    const elapsed = performance.now() - started;
    console.log(
      `[status] two unreachable remotes, --remote-timeout 1s: returned in ${elapsed.toFixed(0)} ms`,
    );
    expect(result.timedOut).toBe(false);
    expect(result.exitCode, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as {
      sessions: SessionRecord[];
      reconciled: { unreachable: number[] };
      remotes: { name: string; reachable: boolean; error: string; ms: number }[];
    };
    for (const r of out.remotes) console.log(`[status] remote ${r.name}: ${r.ms} ms, ${r.error}`);
    expect(out.remotes.map((r) => [r.name, r.reachable])).toEqual([
      ['down', false],
      ['hole', false],
    ]);
    expect(out.remotes.find((r) => r.name === 'hole')!.error).toMatch(/1000 ms/);
    expect(out.reconciled.unreachable.sort()).toEqual(rows!.map((r) => r.id).sort());
    for (const row of rows!) {
      const now = out.sessions.find((s) => s.id === row.id)!;
      expect(now.status).toBe('unreachable');
      expect(now.lastSeen).toBe(lastSeen);
    }
    expect(out.sessions.find((s) => s.task === 'here')?.status).toBe('completed');

    // The table says which remotes could not be reached, and since when their loops were last seen.
    const plain = await sb.ralph(['status', '--remote-timeout', '1s'], { timeoutMs: 20_000 });
    expect(plain.exitCode).toBe(0);
    expect(plain.stdout).toMatch(/remote hole unreachable after \d+ ms/);
    expect(plain.stdout).toMatch(/job-hole\s+hole\s+unreachable/);
    expect(plain.stdout).toMatch(/last seen/);
  });

  it('counts the timeout from when the wait began: a command that began long ago asks no more', async () => {
    const sb = sandbox();
    const lateId = await writeIdentity(sb.root, 'late', `https://127.0.0.1:${holePort}`);
    const added = await sb.ralph(['remote', 'add', 'late', '--identity', lateId, '--service', 'ralph-late']);
    expect(added.exitCode, added.stderr).toBe(0);
    // The CLI passes its process's start; a start a minute back leaves no time to wait for the hole.
    const since = Date.now() - 60_000;
    const result = await loopStatus({ remoteTimeoutMs: 1000, link: false, since }, sb.paths);
    const late = result.remotes.find((r) => r.name === 'late');
    expect(late).toMatchObject({ reachable: false, error: 'no answer within 1000 ms' });
    // Its time is counted from `since`, not from the call.
    expect(late!.ms).toBeGreaterThanOrEqual(60_000);
  });
});
