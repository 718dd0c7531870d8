import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accessOf, allows, roleFor, rolesSchema } from '../../src/daemon/roles.js';
import { METHOD_NAMES, methods } from '../../src/protocol/methods.js';
import type { MethodSpec } from '../../src/protocol/spec.js';

const CONTROL = [
  'stop',
  'checkpoint',
  'inject_prompt',
  'pause',
  'resume',
  'add_iterations',
  'resize',
  'set_interactive_mode',
  'write_pty',
];

describe('method access', () => {
  it.each(METHOD_NAMES)('%s declares read or control access', (name) => {
    const spec = methods[name] as MethodSpec;
    expect(['read', 'control']).toContain(spec.access);
  });

  it('marks every method that changes the loop or types into it as control, the rest as read', () => {
    for (const name of METHOD_NAMES) {
      expect(accessOf(name), name).toBe(CONTROL.includes(name) ? 'control' : 'read');
    }
    // What an observer needs to watch: status, logs and a read-only attach.
    for (const name of ['get_status', 'get_logs', 'attach', 'detach', 'peek', 'subscribe']) {
      expect(accessOf(name)).toBe('read');
    }
  });

  it('fails closed: a method without access, or one not in the table, needs control', () => {
    expect(accessOf({})).toBe('control');
    expect(accessOf('no_such_method')).toBe('control');
    expect(accessOf('toString')).toBe('control');
    expect(allows('observe', 'no_such_method')).toBe(false);
    expect(allows('observe', {})).toBe(false);
  });
});

describe('docs/security.md', () => {
  it('lists every per-loop method with the access the method table gives it', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'security.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z_]+)` +\| (read|control) +\|$/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(rows)).toEqual(
      Object.fromEntries(METHOD_NAMES.map((name) => [name, accessOf(name)])),
    );
  });
});

describe('allows', () => {
  it('lets observe call read methods only, control everything, nobody without a role', () => {
    for (const name of METHOD_NAMES) {
      expect(allows('control', name)).toBe(true);
      expect(allows('observe', name)).toBe(!CONTROL.includes(name));
      expect(allows(null, name)).toBe(false);
    }
  });

  it('looks names up in another table when given one (the daemon methods)', () => {
    const table = { list_loops: { access: 'read' as const }, start_loop: { access: 'control' as const } };
    expect(allows('observe', 'list_loops', table)).toBe(true);
    expect(allows('observe', 'start_loop', table)).toBe(false);
    expect(allows('control', 'start_loop', table)).toBe(true);
    // A per-loop read method is unknown to that table, so it counts as control there.
    expect(allows('observe', 'get_status', table)).toBe(false);
  });
});

describe('roleFor', () => {
  const roles = rolesSchema.parse({ laptop: 'control', x9Yz1AbCd: 'observe', renamed: 'control' });

  it('finds an identity by id or by name, the id first', () => {
    expect(roleFor(roles, 'x9Yz1AbCd')).toBe('observe');
    expect(roleFor(roles, { id: 'KLjLDPJHFJ', name: 'laptop' })).toBe('control');
    expect(roleFor(roles, { id: 'x9Yz1AbCd', name: 'renamed' })).toBe('observe');
  });

  it('refuses identities that are not listed, whatever their name looks like', () => {
    expect(roleFor(roles, 'someone-else')).toBeNull();
    expect(roleFor(roles, { id: 'abc', name: null })).toBeNull();
    expect(roleFor(roles, '__proto__')).toBeNull();
    expect(roleFor(roles, { id: 'toString', name: 'constructor' })).toBeNull();
  });

  it('accepts only the two roles in the config', () => {
    expect(rolesSchema.safeParse({ laptop: 'admin' }).success).toBe(false);
    expect(rolesSchema.safeParse({ '': 'observe' }).success).toBe(false);
    const bad = rolesSchema.safeParse({ laptop: 'root' });
    expect(bad.success ? '' : bad.error.issues[0]?.message).toBe('a role is "observe" or "control"');
  });
});
