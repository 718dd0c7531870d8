/**
 * Task addressing over a real registry file: `<remote>:<task>`, `local:<task>`, and a bare name that works when
 * it names one loop (or one still running) and otherwise fails listing the candidates.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findSession, parseTaskAddress, taskAddress } from '../../src/client/find.js';
import { isRalphError } from '../../src/errors.js';
import type { Registry } from '../../src/registry/index.js';
import { localSession, openIn, remoteSession, tempHome, type TempHome } from '../registry/helpers.js';

describe('task addresses', () => {
  let home: TempHome;
  let registry: Registry;

  beforeEach(() => {
    home = tempHome();
    registry = openIn(home);
  });

  afterEach(() => {
    registry.close();
    home.cleanup();
  });

  function thrown(fn: () => unknown): unknown {
    try {
      fn();
    } catch (err) {
      return err;
    }
    throw new Error('expected an error');
  }

  it('parses remote:task and local:task', () => {
    expect(parseTaskAddress('vps1:feat')).toEqual({ task: 'feat', remote: 'vps1' });
    expect(parseTaskAddress('local:feat')).toEqual({ task: 'feat', remote: null });
    expect(parseTaskAddress('feat')).toEqual({ task: 'feat', remote: undefined });
  });

  it('finds a loop by remote:task, and by its bare name when it is the only one', () => {
    const remote = registry.create(remoteSession('only-remote', 'vps1', { status: 'running' }));
    expect(findSession(registry, 'vps1:only-remote').id).toBe(remote.id);
    expect(findSession(registry, 'only-remote').id).toBe(remote.id);
    expect(taskAddress(remote)).toBe('vps1:only-remote');
    const err = thrown(() => findSession(registry, 'vps2:only-remote'));
    expect(isRalphError(err, 'TASK_NOT_FOUND')).toBe(true);
    expect((err as Error & { hint: string }).hint).toContain('vps1:only-remote');
  });

  it('refuses an ambiguous bare name, listing every candidate', () => {
    const local = registry.create(localSession('feat', { status: 'running' }));
    const one = registry.create(remoteSession('feat', 'vps1', { status: 'running' }));
    const two = registry.create(remoteSession('feat', 'vps2', { status: 'completed' }));
    const err = thrown(() => findSession(registry, 'feat'));
    expect(isRalphError(err, 'AMBIGUOUS_TASK')).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain('local:feat (running)');
    expect(message).toContain('vps1:feat (running)');
    expect(message).toContain('vps2:feat (completed)');
    expect((err as Error & { hint: string }).hint).toContain('<remote>:feat');
    expect(findSession(registry, 'vps1:feat').id).toBe(one.id);
    expect(findSession(registry, 'vps2:feat').id).toBe(two.id);
    expect(findSession(registry, 'local:feat').id).toBe(local.id);
    // A bare name that only one of them still runs under names that one.
    registry.update(local.id, { status: 'stopped' });
    expect(findSession(registry, 'feat').id).toBe(one.id);
    // Ended loops named by address are refused by commands that need a live one, by their address.
    const ended = thrown(() => findSession(registry, 'vps2:feat', { live: true }));
    expect(isRalphError(ended, 'LOOP_ENDED')).toBe(true);
    expect((ended as Error).message).toContain('loop vps2:feat has ended');
  });
});
