/** The audit log on real files: what a line holds, rotation, a full disk (/dev/full), and reading it back. */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AuditLog,
  MAX_AUDIT_FIELD,
  defaultAuditFile,
  readAudit,
  type AuditInput,
} from '../../src/daemon/audit.js';
import { daemonAuditCommand, formatAudit, parseSince } from '../../cli/commands/daemon-audit.js';
import { isRalphError } from '../../src/errors.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ralph-audit-'));
  file = join(dir, 'daemon', 'audit.ndjson');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const request = (over: Partial<AuditInput> = {}): AuditInput => ({
  identity: 'KLjLDPJHFJ',
  role: 'control',
  transport: 'ziti',
  method: 'stop_loop',
  task: 'feature-a',
  outcome: 'ok',
  ...over,
});

const fileLines = (path = file): string[] => readFileSync(path, 'utf8').split('\n').filter(Boolean);

describe('AuditLog', () => {
  it('writes one line per request with the audit fields only, never params or keys', async () => {
    const log = AuditLog.open(file, { now: () => new Date('2026-12-06T10:00:00.000Z') });
    log.record(request());
    const hostile = {
      ...request({ method: 'write_pty', outcome: 'error', code: 1014, role: 'observe' }),
      params: { data: 'rm -rf /\r' },
      signature: 'c2VjcmV0',
      key: '-----BEGIN EC PRIVATE KEY-----',
    };
    log.record(hostile);
    await log.close();
    const lines = fileLines();
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toEqual({ time: '2026-12-06T10:00:00.000Z', ...request() });
    expect(Object.keys(JSON.parse(lines[1]!) as object)).toEqual([
      'time',
      'identity',
      'role',
      'transport',
      'method',
      'task',
      'outcome',
      'code',
    ]);
    expect(lines[1]).not.toMatch(/rm -rf|c2VjcmV0|PRIVATE/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'daemon')).mode & 0o777).toBe(0o700);
  });

  it('bounds what a hostile request can make it write', async () => {
    const log = AuditLog.open(file);
    log.record(
      request({ method: 'x'.repeat(100_000), task: 't'.repeat(100_000), identity: null, role: null }),
    );
    await log.close();
    const [line] = fileLines();
    expect(line!.length).toBeLessThan(3 * MAX_AUDIT_FIELD + 200);
    expect(JSON.parse(line!)).toMatchObject({ identity: null, role: null, outcome: 'ok' });
  });

  it('rotates at maxBytes, keeping one previous file, and reads both back in order', async () => {
    const log = AuditLog.open(file, { maxBytes: 2_000 });
    for (let i = 0; i < 60; i++) {
      log.record(request({ task: `task-${i}` }));
      if (i % 7 === 0) await log.flush();
    }
    await log.close();
    expect(statSync(file).size).toBeLessThanOrEqual(2_000);
    expect(statSync(`${file}.1`).size).toBeLessThanOrEqual(2_000);
    const tasks = readAudit(file).map((r) => r.task);
    // Only the newest two files' worth is kept; what is kept is in order and ends with the last request.
    expect(tasks.at(-1)).toBe('task-59');
    const numbers = tasks.map((t) => Number(t!.slice(5)));
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, k) => numbers[0]! + k));
    expect(numbers[0]).toBeGreaterThan(0);
    console.log(`[audit] 60 requests, maxBytes 2000: ${numbers.length} kept in the log and its .1`);
  });

  it('on a full disk warns once, drops lines without throwing, and recovers', async () => {
    mkdirSync(join(dir, 'daemon'), { mode: 0o700 });
    symlinkSync('/dev/full', file);
    let clock = Date.parse('2026-12-06T10:00:00.000Z');
    const warnings: string[] = [];
    const log = AuditLog.open(file, {
      retryMs: 60_000,
      now: () => new Date(clock),
      onWarning: (m) => warnings.push(m),
    });
    expect(() => log.record(request())).not.toThrow();
    await log.flush();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toBe(`audit log ${file}: dropping lines: the disk is full`);
    for (let i = 0; i < 5; i++) log.record(request({ task: `lost-${i}` }));
    await log.flush();
    expect(warnings).toHaveLength(1);
    expect(log.droppedLines).toBe(6);

    // Space again (a plain file instead of /dev/full), and the retry time has come.
    unlinkSync(file);
    writeFileSync(file, '', { mode: 0o600 });
    clock += 61_000;
    log.record(request({ task: 'after' }));
    await log.close();
    expect(warnings[1]).toBe(`audit log ${file}: writing again; 6 line(s) were dropped`);
    expect(readAudit(file).map((r) => r.task)).toEqual(['after']);
  });
});

describe('readAudit', () => {
  it('filters by identity, task and time, and skips damaged lines', async () => {
    const times = ['2026-12-06T09:00:00.000Z', '2026-12-06T10:00:00.000Z', '2026-12-06T11:00:00.000Z'];
    const log = AuditLog.open(file);
    log.record(request({ time: times[0], identity: 'laptop-id', task: 'a' }));
    log.record(
      request({ time: times[1], identity: 'phone-id', role: 'observe', method: 'get_status', task: 'a' }),
    );
    log.record(request({ time: times[2], identity: 'laptop-id', task: 'b', outcome: 'error', code: -32003 }));
    await log.close();
    writeFileSync(
      file,
      readFileSync(file, 'utf8') + 'garbage\n{"time":1}\n{"time":"x","method":"m","outcome":"ok"',
    );

    expect(readAudit(file)).toHaveLength(3);
    expect(readAudit(file, { identity: 'laptop-id' }).map((r) => r.task)).toEqual(['a', 'b']);
    expect(readAudit(file, { task: 'a' }).map((r) => r.identity)).toEqual(['laptop-id', 'phone-id']);
    expect(readAudit(file, { since: new Date(times[1]!) }).map((r) => r.time)).toEqual(times.slice(1));
    expect(readAudit(file, { identity: 'laptop-id', task: 'b' })[0]).toMatchObject({ code: -32003 });
    expect(readAudit(join(dir, 'missing.ndjson'))).toEqual([]);
    expect(defaultAuditFile({ dataDir: '/d' })).toBe('/d/daemon/audit.ndjson');
  });
});

describe('ralph daemon audit', () => {
  it('reads --since as a duration back from now or as an ISO time', () => {
    const now = Date.parse('2026-12-06T10:00:00.000Z');
    expect(parseSince('1h', now).toISOString()).toBe('2026-12-06T09:00:00.000Z');
    expect(parseSince('2026-12-05T08:00:00Z', now).toISOString()).toBe('2026-12-05T08:00:00.000Z');
    for (const bad of ['yesterday', '2026-13-45T99:00:00Z']) {
      let caught: unknown;
      try {
        parseSince(bad, now);
      } catch (err) {
        caught = err;
      }
      expect(isRalphError(caught, 'INVALID_DURATION')).toBe(true);
    }
  });

  it('prints a table, or JSON, of the matching records; a missing log is a clear error', async () => {
    const log = AuditLog.open(file);
    log.record(request({ identity: 'laptop-id', task: 'a' }));
    log.record(
      request({ identity: 'phone-id', role: 'observe', method: 'stop', outcome: 'error', code: 1014 }),
    );
    await log.close();
    const text = formatAudit(readAudit(file));
    expect(text.split('\n')[0]).toMatch(/^TIME\s+IDENTITY\s+ROLE\s+VIA\s+METHOD\s+TASK\s+OUTCOME$/);
    expect(text).toMatch(/phone-id\s+observe\s+ziti\s+stop\s+feature-a\s+error 1014/);
    expect(formatAudit([])).toBe('no audit records match');

    const out = await captureStdout(() =>
      (daemonAuditCommand.handler as (a: object) => Promise<void>)({
        file,
        identity: 'phone-id',
        json: true,
      }),
    );
    expect((JSON.parse(out) as { method: string }[]).map((r) => r.method)).toEqual(['stop']);

    let caught: unknown;
    try {
      await (daemonAuditCommand.handler as (a: object) => Promise<void>)({
        file: join(dir, 'nope'),
        json: false,
      });
    } catch (err) {
      caught = err;
    }
    expect(isRalphError(caught, 'INVALID_OPTION')).toBe(true);
    expect((caught as Error).message).toBe(`no audit log at ${join(dir, 'nope')}`);
  });
});

async function captureStdout(fn: () => Promise<void>): Promise<string> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  };
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}
