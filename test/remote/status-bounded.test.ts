/**
 * `ralph status`'s remote part is bounded by its timeout whatever hangs, and leaves nothing behind: a remote
 * whose controller accepts connections and never answers (a login still under way when the timeout passes) and
 * a remote whose service exists but has no host (the SDK would keep re-dialling for its dialRetryMs). On a real
 * OpenZiti test network. Outcomes are asserted (rows unreachable, exit code, the process exited, no handle left
 * keeping it alive); times are printed, never asserted.
 */
import { createDaemonService } from '../daemon/harness.js';
import { execa } from 'execa';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry, type SessionRecord } from '../../src/registry/index.js';
import { ensureCliBuilt, ROOT } from '../cli/built.js';
import { useCliSandbox, type CliSandbox } from '../cli/harness.js';
import { uniqueName } from '../ziti/e2e/helpers.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../ziti/network.js';
import { writeIdentity } from './identities.js';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'status-handles.mjs');
const TIMEOUT_MS = 600;

type Cached = { id: string; token: string; expiresAt: string };

interface HandlesReport {
  remotes: { name: string; reachable: boolean; error: string | null; ms: number }[];
  unreachable: number[];
  handles: string[];
  answeredMs: number;
  closedMs: number;
}

describe.skipIf(!zitiTestsEnabled())('ralph status with remotes that hang', () => {
  const sandbox = useCliSandbox();
  let net: TestNetwork;
  let hole: Server;
  const held: Socket[] = [];
  let holePort = 0;
  const unbound = uniqueName('ralph-unbound');

  beforeAll(async () => {
    await ensureCliBuilt();
    net = await acquireTestNetwork();
    await createDaemonService(net, unbound);
    hole = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    holePort = (hole.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const s of held) s.destroy();
    await new Promise<void>((resolve) => hole?.close(() => resolve()));
    if (net !== undefined) {
      await net.ziti(['edge', 'delete', 'service', unbound]).catch(() => undefined);
      await net.stop();
    }
  });

  async function laptop(tag: string): Promise<{ sb: CliSandbox; rows: SessionRecord[] }> {
    const sb = sandbox();
    const holeId = await writeIdentity(sb.root, 'hole', `https://127.0.0.1:${holePort}`);
    const remotes = [
      [`hole${tag}`, holeId, 'ralph-hole'],
      [`nobody${tag}`, net.identities.client.file, unbound],
    ] as const;
    for (const [name, identity, service] of remotes) {
      const added = await sb.ralph(['remote', 'add', name, '--identity', identity, '--service', service]);
      expect(added.exitCode, added.stderr).toBe(0);
    }
    const registry = Registry.open(sb.paths.registryFile);
    try {
      const rows = remotes.map(([name, identity, service]) =>
        registry.create({
          task: `job-${name}`,
          location: 'remote',
          transport: 'ziti',
          address: service,
          identity,
          remoteName: name,
          agent: 'claude',
          taskDir: `tasks/job-${name}`,
          maxIterations: 5,
          status: 'running',
          lastSeen: '2026-01-02T03:04:05.000Z',
        }),
      );
      return { sb, rows };
    } finally {
      registry.close();
    }
  }

  it('leaves no handle behind once the remotes gave up: no login, router connect or dial retry', async () => {
    const { sb, rows } = await laptop('1');
    const run = await execa(process.execPath, [FIXTURE, join(ROOT, 'dist'), String(TIMEOUT_MS)], {
      env: { ...process.env, RALPH_HOME: sb.home },
      reject: false,
      timeout: 60_000,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as HandlesReport;
    console.log(
      `[status] timeout ${TIMEOUT_MS} ms: answered after ${report.answeredMs} ms, contexts closed after ` +
        `${report.closedMs} ms; ${report.remotes.map((r) => `${r.name} ${r.ms} ms (${r.error})`).join('; ')}`,
    );
    expect(report.remotes.map((r) => [r.name, r.reachable])).toEqual([
      ['hole1', false],
      ['nobody1', false],
    ]);
    expect(report.unreachable.sort()).toEqual(rows.map((r) => r.id).sort());
    // Nothing is left to keep the process alive: no socket to the controller, no retry timer.
    expect(report.handles).toEqual([]);
  });

  it('the CLI returns with both rows unreachable and its process ends', async () => {
    const { sb, rows } = await laptop('2');
    const started = performance.now();
    const result = await sb.ralph(['status', '--json', '--remote-timeout', `${TIMEOUT_MS}ms`], {
      timeoutMs: 30_000,
    });
    console.log(
      `[status] CLI, timeout ${TIMEOUT_MS} ms: exited after ${(performance.now() - started).toFixed(0)} ms`,
    );
    expect(result.timedOut).toBe(false);
    expect(result.exitCode, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as {
      sessions: SessionRecord[];
      remotes: { name: string; reachable: boolean }[];
    };
    expect(out.remotes.every((r) => !r.reachable)).toBe(true);
    for (const row of rows) expect(out.sessions.find((s) => s.id === row.id)?.status).toBe('unreachable');
  });

  it('keeps the controller API session between runs, privately, and logs in again when it is refused', async () => {
    const sb = sandbox();
    const added = await sb.ralph([
      'remote',
      'add',
      'cached',
      '--identity',
      net.identities.client.file,
      '--service',
      unbound,
    ]);
    expect(added.exitCode, added.stderr).toBe(0);
    const dir = join(sb.paths.runDir, 'ziti-sessions');
    const status = async (): Promise<void> => {
      const result = await sb.ralph(['status', '--json', '--remote-timeout', '1500ms'], {
        timeoutMs: 30_000,
      });
      expect(result.exitCode, result.stderr).toBe(0);
    };
    const cached = (): { file: string; value: Cached } => {
      const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
      expect(files).toHaveLength(1);
      const file = join(dir, files[0]!);
      return { file, value: JSON.parse(readFileSync(file, 'utf8')) as Cached };
    };

    await status();
    const first = cached();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    expect(Date.parse(first.value.expiresAt)).toBeGreaterThan(Date.now());

    // The next run takes the same API session up instead of logging in (a login makes a new one).
    await status();
    expect(cached().value.id).toBe(first.value.id);

    // A token the controller does not know (dropped, or from an older controller) costs one login, no failure.
    writeFileSync(first.file, JSON.stringify({ ...first.value, id: 'gone', token: 'not-a-token' }), {
      mode: 0o600,
    });
    await status();
    const after = cached().value;
    expect(after.id).not.toBe('gone');
    expect(after.token).not.toBe('not-a-token');
  });
});
