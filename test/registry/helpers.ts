import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ralphPaths, type RalphPaths } from '../../src/config/paths.js';
import { Registry, type NewSession } from '../../src/registry/index.js';

export interface TempHome {
  root: string;
  env: NodeJS.ProcessEnv;
  paths: RalphPaths;
  cleanup: () => void;
}

/** A fresh RALPH_HOME under the system temp dir; `cleanup` removes it. */
export function tempHome(): TempHome {
  const root = mkdtempSync(join(tmpdir(), 'ralph-reg-'));
  const env: NodeJS.ProcessEnv = { ...process.env, RALPH_HOME: root };
  return { root, env, paths: ralphPaths(env), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export function openIn(home: TempHome, now?: () => Date): Registry {
  return Registry.open(undefined, now === undefined ? { env: home.env } : { env: home.env, now });
}

export function localSession(task: string, extra: Partial<NewSession> = {}): NewSession {
  return {
    task,
    location: 'local',
    transport: 'unix',
    address: `/tmp/ralph-test-${task}.sock`,
    agent: 'claude',
    taskDir: `/work/tasks/${task}`,
    maxIterations: 10,
    ...extra,
  };
}

export function remoteSession(task: string, remoteName: string, extra: Partial<NewSession> = {}): NewSession {
  return {
    task,
    location: 'remote',
    transport: 'ziti',
    address: 'ralph-daemon',
    identity: '/home/u/.config/ralph/identities/laptop.json',
    remoteName,
    agent: 'codex',
    taskDir: `/srv/ralph/${task}`,
    maxIterations: 20,
    ...extra,
  };
}
