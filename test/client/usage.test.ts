/**
 * Usage figures for listings: `sessionUsages` lists the loops folder once and must give, for every kind of
 * session, what reading each one alone (`sessionUsage`) gives — its own folder, a folder named the older way,
 * no folder, a record file cut short, a remote session, and no loops folder at all.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sessionUsage, sessionUsages } from '../../src/client/usage.js';
import { sessionDir } from '../../src/config/paths.js';
import { Registry, type SessionRecord } from '../../src/registry/index.js';
import { Sandbox } from '../loop/helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

const usage = (costUsd: number, outputTokens: number) => ({
  inputTokens: 1000,
  outputTokens,
  cachedInputTokens: 0,
  cacheWriteTokens: 0,
  costUsd,
  model: 'm',
});

function records(...usages: unknown[]): string {
  return JSON.stringify(
    usages.map((u, i) => ({ number: i + 1, startedAt: '2026-01-01T00:00:00Z', usage: u })),
  );
}

function sessions(): SessionRecord[] {
  const registry = Registry.open(sb.paths.registryFile);
  try {
    const local = (task: string) =>
      registry.create({
        task,
        location: 'local',
        transport: 'unix',
        address: join(sb.paths.runDir, `${task}.sock`),
        agent: 'claude',
        taskDir: `/tasks/${task}`,
        maxIterations: 5,
        status: 'completed',
      });
    local('own');
    local('legacy');
    local('both');
    local('none');
    local('cut');
    registry.create({
      task: 'far',
      location: 'remote',
      transport: 'ziti',
      address: 'ralph-vps1',
      remoteName: 'vps1',
      agent: 'claude',
      taskDir: '/srv/far',
      maxIterations: 5,
      status: 'running',
    });
    return registry.list({ all: true });
  } finally {
    registry.close();
  }
}

describe('usage of many sessions at once', () => {
  it('gives what reading each session alone gives', () => {
    const list = sessions();
    const byTask = (task: string) => list.find((s) => s.task === task)!;
    const write = (dir: string, text: string) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'iterations.json'), text);
    };
    write(sessionDir(sb.paths, byTask('own')), records(usage(0.01, 10), null, usage(0.02, 5)));
    write(join(sb.paths.loopsDir, `legacy-${byTask('legacy').id}`), records(usage(0.5, 7)));
    // A session with its own folder and an older one: its own wins.
    write(sessionDir(sb.paths, byTask('both')), records(usage(1, 1)));
    write(join(sb.paths.loopsDir, `both-${byTask('both').id}`), records(usage(9, 9)));
    write(sessionDir(sb.paths, byTask('cut')), '[{"number":1,"us');

    const many = sessionUsages(sb.paths, list);
    const alone = list.map((s) => sessionUsage(sb.paths, s));
    expect(many).toEqual(alone);
    const of = (task: string) => many[list.findIndex((s) => s.task === task)];
    expect(of('own')).toMatchObject({ costUsd: 0.03, outputTokens: 15, inputTokens: 2000 });
    expect(of('legacy')).toMatchObject({ costUsd: 0.5, outputTokens: 7 });
    expect(of('both')).toMatchObject({ costUsd: 1, outputTokens: 1 });
    expect(of('none')).toBeNull();
    expect(of('cut')).toBeNull();
    expect(of('far')).toBeNull();
  });

  it('gives null for every session when there is no loops folder', () => {
    const list = sessions();
    expect(sessionUsages(sb.paths, list)).toEqual(list.map(() => null));
    expect(list.map((s) => sessionUsage(sb.paths, s))).toEqual(list.map(() => null));
  });
});
