import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode, errorCodes, errorName, RpcError } from '../../src/protocol/errors.js';
import { EVENT_TYPES, events, makeEvent } from '../../src/protocol/events.js';
import { METHOD_NAMES, isMethodName, methods } from '../../src/protocol/methods.js';
import type { MethodSpec } from '../../src/protocol/spec.js';
import type { EventSpec } from '../../src/protocol/events.js';
import { renderProtocolDoc } from '../../src/protocol/render-doc.js';
import { AGENT_INSTALL_NOTE, daemonMethods } from '../../src/daemon/methods.js';
import { linkMethods } from '../../src/client/remote/link/methods.js';

const RALPH_UV_METHODS = [
  'get_status',
  'stop',
  'checkpoint',
  'inject_prompt',
  'set_interactive_mode',
  'write_pty',
  'subscribe',
  'unsubscribe',
];

describe('method table', () => {
  it("contains ralph-uv's methods, marked as such, and the extensions", () => {
    for (const name of RALPH_UV_METHODS) {
      expect(isMethodName(name)).toBe(true);
      expect((methods as Record<string, MethodSpec>)[name]!.compat).toBe(true);
    }
    for (const name of [
      'attach',
      'detach',
      'resize',
      'pause',
      'resume',
      'add_iterations',
      'peek',
      'get_logs',
      'get_iterations',
    ]) {
      expect(METHOD_NAMES).toContain(name);
    }
    expect(isMethodName('toString')).toBe(false);
  });

  it.each(METHOD_NAMES)('%s: the example passes its own schemas', (name) => {
    const spec = methods[name] as MethodSpec;
    expect(spec.params.safeParse(spec.example.params).success).toBe(true);
    expect(spec.result.safeParse(spec.example.result).success).toBe(true);
    expect(spec.summary.length).toBeGreaterThan(10);
    for (const e of spec.errors ?? []) expect(errorCodes).toHaveProperty(e);
  });

  it('fills get_logs defaults and rejects unknown fields', () => {
    expect(methods.get_logs.params.parse({})).toEqual({ offset: 0, limit: 65536, encoding: 'utf8' });
    expect(methods.attach.params.safeParse({ from: 3 }).success).toBe(false);
  });
});

describe('event table', () => {
  it.each(EVENT_TYPES)('%s: the example passes its schema', (type) => {
    const spec = events[type] as EventSpec;
    expect(spec.data.safeParse(spec.example).success).toBe(true);
  });

  it('makeEvent stamps an ISO time', () => {
    const e = makeEvent('output', { line: 'x' });
    expect(e.type).toBe('output');
    expect(new Date(e.timestamp).toISOString()).toBe(e.timestamp);
  });
});

describe('error table', () => {
  it('keeps application codes out of the JSON-RPC reserved range and unique', () => {
    const seen = new Map<number, string>();
    for (const [name, spec] of Object.entries(errorCodes)) {
      if (spec.code < 0) {
        expect(spec.code).toBeGreaterThanOrEqual(-32768);
        expect(spec.code).toBeLessThanOrEqual(-32000);
        continue;
      }
      expect(spec.code).toBeGreaterThanOrEqual(1000);
      expect(seen.get(spec.code), `${name} reuses ${spec.code}`).toBeUndefined();
      seen.set(spec.code, name);
    }
    expect(ErrorCode.LEASE_HELD).toBe(1001);
    expect(errorName(-32600)).toBe('INVALID_REQUEST');
    expect(RpcError.of('LINE_TOO_LONG', 'x').kind).toBe('LINE_TOO_LONG');
    expect(new RpcError(4242, 'x').kind).toBe('RPC_4242');
    expect(RpcError.of('AGENT_MISSING', 'no codex', { installed: ['claude'] }).toJSON()).toEqual({
      code: 1007,
      message: 'no codex',
      data: { installed: ['claude'] },
    });
  });
});

describe('docs/protocol.md', () => {
  it('is what the generator makes from the tables (run scripts/gen-protocol-doc.mjs after a build)', () => {
    const root = new URL('../../', import.meta.url);
    const header = readFileSync(new URL('docs/protocol.header.md', root), 'utf8');
    const committed = readFileSync(new URL('docs/protocol.md', root), 'utf8');
    expect(committed).toBe(
      renderProtocolDoc(header, { daemonMethods, daemonNote: AGENT_INSTALL_NOTE, linkMethods }),
    );
  });

  it('documents every method, event and error code', () => {
    const doc = renderProtocolDoc('# header');
    for (const name of METHOD_NAMES) expect(doc).toContain(`### \`${name}\``);
    for (const type of EVENT_TYPES) expect(doc).toContain(`### \`${type}\``);
    for (const name of Object.keys(errorCodes)) expect(doc).toContain(`\`${name}\``);
    expect(doc).toContain('- `from_offset?`: `integer ≥ 0`');
    expect(doc).toContain('- `limit?`: `integer 1..1048576 = 65536`');
  });
});
