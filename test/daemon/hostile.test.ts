/**
 * Hostile requests through the built `ralph daemon`, over its Unix socket: path traversal (`..`, absolute paths
 * outside the workspace, a symlink out of it), hostile task names, oversized lines, unknown tasks and methods,
 * wrong types, and 10^5 fuzzed frames (seeded: `RALPH_FUZZ_SEED=<n>` replays a run; five rounds use seeds n to n+4). Each gets a clear error,
 * the connection and the daemon keep serving, the daemon's RSS stays bounded (printed before and after), and no
 * file appears outside the workspace. The same fuzz over a Ziti connection is in acceptance-auth.test.ts.
 */
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DAEMON_SEMI_SPACE_MB } from '../../src/daemon/heap.js';
import { dialUnix } from '../../src/transport/unix.js';
import { useCliSandbox, waitFor } from '../cli/harness.js';
import { fuzzDaemon, fuzzSeed, rawCall, rssBytes } from './fuzz.js';
import {
  LineClient,
  startDaemonProcess,
  writeDaemonConfig,
  type DaemonProcess,
  type DaemonSetup,
} from './harness.js';

const FUZZ_COUNT = 100_000;
const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;

/** Every path under `root` (relative), except inside the folders named in `skip` (relative to root). */
function tree(root: string, skip: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(root, path);
      if (skip.some((s) => rel === s || rel.startsWith(`${s}/`))) continue;
      out.push(rel);
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(root);
  return out.sort();
}

describe('hostile requests to ralph daemon over its Unix socket', () => {
  const sandbox = useCliSandbox();
  let setup: DaemonSetup;
  let daemon: DaemonProcess;
  let outside: string;
  /** What is outside the workspace before any hostile request (the daemon's own RALPH_HOME aside). */
  let before: string[];
  const skip = ['tasks', 'home', 'tmp'];

  beforeAll(async () => {
    setup = writeDaemonConfig(sandbox());
    daemon = await startDaemonProcess(sandbox(), setup);
    outside = join(sandbox().root, 'outside-task');
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'prd.json'), '{}');
    writeFileSync(join(outside, 'prompt.md'), 'x');
    symlinkSync(outside, join(setup.workspace, 'escape'));
    mkdirSync(join(setup.workspace, 'inner'), { recursive: true });
    symlinkSync('../../outside-task', join(setup.workspace, 'inner', 'escape2'));
    before = tree(sandbox().root, skip);
  });

  it('refuses traversal, hostile names, unknown tasks and methods and wrong types with clear errors', async () => {
    const client = await LineClient.unix(daemon.socket);
    await client.hello;
    const cases: [string, unknown, number, RegExp][] = [
      // Paths: inside the workspace only, no '..', no way out through a symlink.
      ['start_loop', { task_dir: '../outside-task' }, -32602, /task_dir: must not contain '\.\.'/],
      ['start_loop', { task_dir: '../x' }, -32602, /task_dir: must not contain '\.\.'/],
      ['start_loop', { task_dir: 'a/../../outside-task' }, -32602, /must not contain '\.\.'/],
      ['start_loop', { task_dir: outside }, -32602, /outside the workspace/],
      ['start_loop', { task_dir: '/etc' }, -32602, /outside the workspace/],
      ['start_loop', { task_dir: 'escape' }, -32602, /leads outside the workspace.*symlink/],
      ['start_loop', { task_dir: 'inner/escape2' }, -32602, /leads outside the workspace.*symlink/],
      ['start_loop', { task_dir: 'missing-folder' }, 1011, /does not exist/],
      // Names: a task name becomes file and socket names.
      ['start_loop', { task_dir: 'x', name: '../../evil' }, -32602, /name:/],
      ['start_loop', { task_dir: 'x', name: 'a'.repeat(65) }, -32602, /name:/],
      ['start_loop', { task_dir: 'x', name: 'a\u0000b' }, -32602, /name:/],
      ['start_loop', { task_dir: 'x', name: '$(touch pwned)' }, -32602, /name:/],
      ['start_loop', { task_dir: 'x', agent: 'rm -rf' }, -32602, /agent:/],
      ['get_status', { task: 'x;rm' }, -32602, /task:/],
      ['get_status', { task: '..' }, -32602, /task:/],
      ['get_status', { task: '-rf' }, -32602, /task:/],
      ['get_status', { task: '' }, -32602, /task:/],
      ['open_loop', { task: '../etc' }, -32602, /task:/],
      ['stop_loop', { task: '/etc/passwd' }, -32602, /task:/],
      // Unknown tasks and methods.
      ['stop_loop', { task: 'no-such-loop' }, -32003, /no loop named no-such-loop/],
      ['open_loop', { task: 'no-such-loop' }, -32003, /no loop named/],
      ['get_status', { task: 'no-such-loop' }, -32003, /no loop named/],
      ['no_such_method', {}, -32601, /method not found/],
      ['__proto__', {}, -32601, /method not found/],
      // Wrong types and shapes.
      ['get_status', {}, -32602, /task: missing/],
      ['get_status', { task: 5 }, -32602, /task:/],
      ['start_loop', { task_dir: 5 }, -32602, /task_dir: expected string/],
      ['start_loop', { task_dir: 'x', max_iterations: 'ten' }, -32602, /max_iterations/],
      ['start_loop', ['x'], -32602, /./],
      ['subscribe_events', { since_seq: -1 }, -32602, /since_seq/],
      ['list_loops', { extra: 1 }, -32602, /extra: unknown field/],
      ['attach', { task: 'no-such-loop' }, -32602, /open_loop/],
    ];
    for (const [method, params, code, message] of cases) {
      const answer = await client.call(method, params);
      const what = `${method} ${JSON.stringify(params)}`;
      expect(answer.error, what).toMatchObject({ code });
      expect(answer.error!.message, what).toMatch(message);
      expect(answer.error!.message.split('\n'), what).toHaveLength(1);
    }
    // Requests that are not JSON-RPC 2.0: each answered -32600 on the same connection.
    for (const line of [
      '{"jsonrpc":"2.0","id":"m1","method":5}',
      '{"id":"m2","method":"list_loops"}',
      '{"jsonrpc":"2.0","id":"m3","method":"list_loops","params":"x"}',
      '"x"',
      '[]',
    ]) {
      client.write(`${line}\n`);
    }
    await waitFor(() => client.orphans.length >= 5, 'errors for the malformed requests');
    expect(client.orphans.map((o) => o.error?.code)).toEqual([-32600, -32600, -32600, -32600, -32600]);
    expect(await client.ok('get_health')).toMatchObject({ service: 'ralph-test' });
    client.close();
  });

  it('discards oversized lines with an error and keeps serving the same connection', async () => {
    const client = await LineClient.unix(daemon.socket);
    await client.hello;
    client.write('{not json\n');
    for (let i = 0; i < 3; i += 1) {
      const pad = 'x'.repeat((2 + i) * 1024 * 1024);
      client.write(
        `${JSON.stringify({ jsonrpc: '2.0', id: 900 + i, method: 'list_loops', params: { pad } })}\n`,
      );
      // Between the big ones, a normal request on the same connection is answered.
      expect(await client.ok('list_loops', undefined, 60_000)).toHaveProperty('loops');
    }
    // A line over the limit with no newline yet, then its end: still one error, then serving.
    client.write('x'.repeat(3 * 1024 * 1024));
    client.write('tail\n');
    await waitFor(() => client.orphans.length >= 5, 'errors for the bad lines');
    expect(client.orphans.map((o) => o.error?.code)).toEqual([-32700, -32600, -32600, -32600, -32600]);
    expect(client.orphans[1]!.error!.message).toMatch(/too long: over \d+ bytes/);
    expect(await client.ok('get_health')).toMatchObject({ service: 'ralph-test' });
    expect(client.closed).toBe(false);
    client.close();
  });

  it(`keeps serving through ${FUZZ_COUNT} seeded fuzzed frames with bounded memory`, async () => {
    const stream = await dialUnix(daemon.socket);
    const pid = daemon.child.pid!;
    await rawCall(stream, 'warm-up', 'get_health', 30_000);
    const rssBefore = rssBytes(pid);
    const seed = fuzzSeed();
    console.log(`[hostile] fuzz seed ${seed} (replay with RALPH_FUZZ_SEED=${seed})`);
    // Five rounds from one seed each: the RSS after each shows whether memory levels off or keeps growing.
    const rounds = 5;
    const rss: number[] = [];
    const outcome = { sent: 0, bytes: 0, answers: 0, ms: 0 };
    for (let round = 0; round < rounds; round += 1) {
      const part = await fuzzDaemon(stream, {
        seed: seed + round,
        count: FUZZ_COUNT / rounds,
        limitMs: 60_000,
      });
      outcome.sent += part.sent;
      outcome.bytes += part.bytes;
      outcome.answers += part.answers;
      outcome.ms += part.ms;
      await rawCall(stream, `round-${round}`, 'get_health', 120_000);
      rss.push(rssBytes(pid));
    }
    // The same connection still answers a normal request after everything before it.
    const answer = await rawCall(stream, 'after-fuzz', 'get_health', 120_000);
    expect(JSON.parse(answer)).toMatchObject({ id: 'after-fuzz', result: { service: 'ralph-test' } });
    const rssAfter = rssBytes(pid);
    console.log(
      `[hostile] seed ${seed}: ${outcome.sent} frames, ${mb(outcome.bytes)} in ${outcome.ms} ms, ` +
        `${outcome.answers} answer lines; daemon RSS before ${mb(rssBefore)}, after each round ` +
        `${rss.map(mb).join(', ')}, at the end ${mb(rssAfter)}`,
    );
    expect(outcome.sent, `seed ${seed}: all frames sent within the time limit`).toBe(FUZZ_COUNT);
    expect(outcome.answers).toBeGreaterThan(FUZZ_COUNT / 2);
    expect(rssAfter, `seed ${seed}`).toBeLessThan(rssBefore + 150 * 1024 * 1024);
    // Levelled off: the last round added at most 64 MB over the highest of the first ones.
    expect(rss[rounds - 1]!, `seed ${seed}`).toBeLessThan(Math.max(...rss.slice(0, 2)) + 64 * 1024 * 1024);
    stream.destroy();
    // And new connections too.
    const fresh = await LineClient.unix(daemon.socket);
    await fresh.hello;
    expect(await fresh.ok('list_loops')).toMatchObject({ count: 0 });
    fresh.close();
    expect(daemon.child.exitCode).toBeNull();
  }, 600_000);

  it('runs with its young generation capped where Node can execute in place (same process)', () => {
    // Node 24 lets the young generation grow to 128 MB; see src/daemon/heap.ts.
    const cmdline = readFileSync(`/proc/${daemon.child.pid!}/cmdline`, 'utf8').split('\0');
    const canExecve = typeof (process as { execve?: unknown }).execve === 'function';
    expect(cmdline.includes(`--max-semi-space-size=${DAEMON_SEMI_SPACE_MB}`)).toBe(canExecve);
    expect(cmdline).toContain('daemon');
  });

  it('left no file outside the workspace, and started no loop', () => {
    expect(tree(sandbox().root, skip)).toEqual(before);
    expect(statSync(outside).isDirectory()).toBe(true);
    expect(readdirSync(outside).sort()).toEqual(['prd.json', 'prompt.md']);
    expect(sandbox().sessions()).toEqual([]);
    expect(existsSync('/tmp/fuzz-pwned')).toBe(false);
  });
});
