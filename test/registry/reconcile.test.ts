import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensurePrivateDir } from '../../src/config/paths.js';
import { reconcile, type Registry, type SessionRecord } from '../../src/registry/index.js';
import { processStartTime } from '../../src/util/proc.js';
import { killAll, killChild, startChild } from './children.js';
import { localSession, openIn, remoteSession, tempHome, type TempHome } from './helpers.js';

let home: TempHome;
let reg: Registry;
const NOW = new Date('2025-06-01T10:00:00.000Z');
const now = (): Date => NOW;

beforeEach(() => {
  home = tempHome();
  ensurePrivateDir(home.paths.runDir);
  reg = openIn(home);
});
afterEach(async () => {
  await killAll();
  reg.close();
  home.cleanup();
});

function sock(name: string): string {
  return join(home.paths.runDir, `${name}.sock`);
}

async function registerListener(task: string): Promise<{ session: SessionRecord; pid: number }> {
  const child = await startChild(sock(task));
  const pid = child.pid!;
  const session = reg.create(
    localSession(task, { address: sock(task), pid, pidStartTime: processStartTime(pid), status: 'running' }),
  );
  return { session, pid };
}

describe('reconciling local sessions with real processes', () => {
  it('marks a live, answering runner as seen', async () => {
    const { session } = await registerListener('alive');
    const report = await reconcile(reg, { now });
    expect(report.checked).toBe(1);
    expect(report.crashed).toEqual([]);
    expect(report.alive.map((s) => s.id)).toEqual([session.id]);
    expect(reg.get(session.id)).toMatchObject({ status: 'running', lastSeen: NOW.toISOString() });
  });

  it('marks a SIGKILLed runner crashed with the reason', async () => {
    const child = await startChild(sock('killed'));
    const pid = child.pid!;
    const s = reg.create(
      localSession('killed', {
        address: sock('killed'),
        pid,
        pidStartTime: processStartTime(pid),
        status: 'running',
      }),
    );
    await killChild(child);
    const report = await reconcile(reg, { now });
    expect(report.crashed.map((r) => r.id)).toEqual([s.id]);
    const after = reg.get(s.id)!;
    expect(after.status).toBe('crashed');
    expect(after.exitReason).toBe(`runner process ${pid} is gone`);
    expect(after.endedAt).not.toBeNull();
    expect(reg.findActive('killed')).toBeUndefined();
  });

  it('detects a reused pid by its start time', async () => {
    const child = await startChild(sock('reused'));
    const pid = child.pid!;
    const real = processStartTime(pid)!;
    const s = reg.create(
      localSession('reused', { address: sock('reused'), pid, pidStartTime: `${real}7`, status: 'running' }),
    );
    const report = await reconcile(reg, { now });
    expect(report.crashed.map((r) => r.id)).toEqual([s.id]);
    expect(reg.get(s.id)?.exitReason).toBe(`pid ${pid} was reused by another process`);
  });

  it('marks crashed a live process whose socket is missing or refuses connections', async () => {
    const stale = await startChild(sock('stale'));
    await killChild(stale);
    expect(existsSync(sock('stale'))).toBe(true);
    const other = await startChild();
    const pid = other.pid!;
    const start = processStartTime(pid);
    const refused = reg.create(
      localSession('refused', { address: sock('stale'), pid, pidStartTime: start, status: 'paused' }),
    );
    const missing = reg.create(
      localSession('missing', { address: sock('nothing'), pid, pidStartTime: start, status: 'running' }),
    );
    const report = await reconcile(reg, { now });
    expect(report.crashed.map((r) => r.id).sort()).toEqual([refused.id, missing.id].sort());
    expect(reg.get(refused.id)?.exitReason).toBe(`runner socket ${sock('stale')} refuses connections`);
    expect(reg.get(missing.id)?.exitReason).toBe(`runner socket ${sock('nothing')} refuses connections`);
  });

  it('leaves a starting runner alone during its grace period, then crashes it', async () => {
    const child = await startChild();
    const pid = child.pid!;
    const s = reg.create(
      localSession('slow', {
        address: sock('slow'),
        pid,
        pidStartTime: processStartTime(pid),
        status: 'starting',
      }),
    );
    const early = new Date(Date.parse(s.updatedAt) + 1000);
    const first = await reconcile(reg, { now: () => early, startGraceMs: 30_000 });
    expect(first.pending.map((r) => r.id)).toEqual([s.id]);
    expect(reg.get(s.id)?.status).toBe('starting');
    const late = new Date(Date.parse(s.updatedAt) + 31_000);
    const second = await reconcile(reg, { now: () => late, startGraceMs: 30_000 });
    expect(second.crashed.map((r) => r.id)).toEqual([s.id]);
  });

  it('does not examine terminal sessions', async () => {
    reg.create(localSession('done', { pid: 999_999, status: 'completed' }));
    const report = await reconcile(reg, { now });
    expect(report.checked).toBe(0);
    expect(reg.latest('done')?.exitReason).toBeNull();
  });

  it('does not overwrite a row that changed while it was being probed', async () => {
    const child = await startChild();
    const pid = child.pid!;
    const s = reg.create(
      localSession('busy', {
        address: sock('busy'),
        pid,
        pidStartTime: processStartTime(pid),
        status: 'running',
      }),
    );
    const report = await reconcile(reg, {
      now,
      probeSocket: (address) => {
        expect(address).toBe(sock('busy'));
        reg.update(s.id, { iteration: 4 });
        return Promise.resolve(false);
      },
    });
    expect(report.crashed).toEqual([]);
    expect(reg.get(s.id)).toMatchObject({ status: 'running', iteration: 4 });
    const again = await reconcile(reg, { now, probeSocket: () => Promise.resolve(false) });
    expect(again.crashed.map((r) => r.id)).toEqual([s.id]);
  });
});

describe('reconciling remote sessions', () => {
  it('leaves remote rows alone without a remote probe', async () => {
    const r = reg.create(remoteSession('far', 'box', { status: 'running' }));
    const report = await reconcile(reg, { now });
    expect(report.checked).toBe(0);
    expect(reg.get(r.id)).toEqual(r);
  });

  it('asks each remote once, and marks an unreachable remote unreachable, reversibly', async () => {
    const a = reg.create(remoteSession('a', 'box1', { status: 'running' }));
    const b = reg.create(remoteSession('b', 'box1', { status: 'paused' }));
    const c = reg.create(remoteSession('c', 'box2', { status: 'running' }));
    reg.create(remoteSession('d', 'box2', { status: 'completed' }));
    const calls: [string, number[]][] = [];
    const report = await reconcile(reg, {
      now,
      remoteProbe: (name, sessions) => {
        calls.push([name, sessions.map((s) => s.id).sort()]);
        if (name === 'box1') return Promise.resolve('unreachable' as const);
        return Promise.resolve(new Map([[c.id, { status: 'running' as const, iteration: 7 }]]));
      },
    });
    expect(calls.sort()).toEqual([
      ['box1', [a.id, b.id].sort()],
      ['box2', [c.id]],
    ]);
    expect(report.checked).toBe(3);
    expect(report.unreachable.map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
    expect(reg.get(a.id)?.status).toBe('unreachable');
    expect(reg.get(c.id)).toMatchObject({ status: 'running', iteration: 7, lastSeen: NOW.toISOString() });

    const back = await reconcile(reg, {
      now,
      remoteProbe: (name, sessions) =>
        Promise.resolve(
          new Map(sessions.map((s) => [s.id, { status: s.id === a.id ? 'running' : 'completed' }])),
        ),
    });
    expect(back.alive.map((s) => s.id)).toContain(a.id);
    expect(reg.get(a.id)?.status).toBe('running');
    expect(reg.get(b.id)?.status).toBe('completed');
    expect(reg.get(b.id)?.endedAt).not.toBeNull();
  });

  it('marks lost the sessions the remote no longer knows, and never lets a remote rewrite identity fields', async () => {
    const known = reg.create(remoteSession('known', 'box', { status: 'running' }));
    const lost = reg.create(remoteSession('lost', 'box', { status: 'running' }));
    const report = await reconcile(reg, {
      now,
      remoteProbe: () =>
        Promise.resolve(new Map([[known.id, { task: 'hijack', remoteName: 'other', iteration: 2 }]])),
    });
    expect(report.lost.map((s) => s.id)).toEqual([lost.id]);
    expect(reg.get(known.id)).toMatchObject({ task: 'known', remoteName: 'box', iteration: 2 });
    expect(reg.get(lost.id)).toMatchObject({
      status: 'lost',
      exitReason: "remote 'box' has no record of this loop",
    });
  });

  it('reports a probe that throws and leaves that remote unchanged', async () => {
    const r = reg.create(remoteSession('far', 'box', { status: 'running' }));
    const report = await reconcile(reg, {
      now,
      remoteProbe: () => Promise.reject(new Error('tls handshake failed')),
    });
    expect(report.errors).toEqual([{ remoteName: 'box', message: 'tls handshake failed' }]);
    expect(reg.get(r.id)).toEqual(r);
  });
});
