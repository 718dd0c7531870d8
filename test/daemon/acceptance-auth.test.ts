/**
 * Issue #10, acceptance item 3 (auth), in one place: the built `ralph daemon` (its own RALPH_HOME, the box)
 * binds its own service on a real OpenZiti test network, and four callers try it:
 *   - an outsider (enrolled, but not in the service's Dial policy) cannot reach the service at all;
 *   - an `observe` identity attaches read-only (the bytes arrive) but its keys, stop_loop, stop and start_loop
 *     are refused with FORBIDDEN naming the role and the method, through the daemon and after the hand-over;
 *   - an identity that may dial but has no role in the daemon's config is refused and its connection closed;
 *   - a bad proof is refused as UNAUTHENTICATED and its connection closed.
 * Every request that reached the daemon is in its audit log, read back with `ralph daemon audit --json`. Last,
 * seeded fuzzed frames over the overlay (hostile.test.ts does 10^5 over the Unix socket).
 * The laptop side also runs the `ralph` CLI (another RALPH_HOME): a refusal is one `ralph:` line and an exit code.
 */
import { sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authMessage } from '../../src/daemon/auth.js';
import { ExitCode } from '../../src/exit-codes.js';
import { RpcClient } from '../../src/protocol/client.js';
import { dialZiti } from '../../src/transport/ziti.js';
import { ZitiContext } from '../../src/ziti/context.js';
import { enrollWithJwt } from '../../src/ziti/enroll.js';
import { loadIdentity } from '../../src/ziti/identity.js';
import { ensureCliBuilt } from '../cli/built.js';
import { CliSandbox, waitFor } from '../cli/harness.js';
import { uniqueName } from '../ziti/e2e/helpers.js';
import { fuzzDaemon, fuzzSeed, rawCall, rssBytes } from './fuzz.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../ziti/network.js';
import {
  LineClient,
  startDaemonProcess,
  writeDaemonConfig,
  type DaemonProcess,
  type RpcAnswer,
  createDaemonService,
} from './harness.js';

const ZITI_FUZZ_COUNT = 10_000;
const ECHO_SCRIPT = [{ print: 'AGENT-START' }, { echo: { until: 'quit\r', timeoutMs: 120_000 } }];

interface AuditRecord {
  identity: string | null;
  role: string | null;
  transport: string;
  method: string;
  task: string | null;
  outcome: string;
  code?: number;
}

describe.skipIf(!zitiTestsEnabled())('acceptance item 3: who may reach and steer a remote daemon', () => {
  let net: TestNetwork;
  let box: CliSandbox;
  let laptop: CliSandbox;
  let dir: string;
  let daemon: DaemonProcess;
  let socket: string;
  const service = uniqueName('ralph-auth-box');
  /** Identity files and ids (certificate CN) of the callers. */
  const who = {} as Record<'control' | 'observer' | 'nobody', { file: string; id: string }>;
  const contexts: ZitiContext[] = [];

  async function enroll(attributes: string[]): Promise<{ file: string; id: string }> {
    const name = uniqueName('ralph-auth-id');
    const jwt = join(dir, `${name}.jwt`);
    await net.ziti(['edge', 'create', 'identity', name, '-a', attributes.join(','), '-o', jwt]);
    const identity = await enrollWithJwt(jwt, join(dir, `${name}.json`));
    return { file: identity.file, id: identity.name };
  }

  async function context(file: string): Promise<ZitiContext> {
    const ctx = await ZitiContext.fromIdentityFile(file);
    contexts.push(ctx);
    return ctx;
  }

  async function dial(file: string): Promise<LineClient> {
    const c = new LineClient(await dialZiti(await context(file), service, { timeoutMs: 20_000 }));
    await c.hello;
    return c;
  }

  async function authenticate(c: LineClient, identityFile: string, signature?: string): Promise<RpcAnswer> {
    const hello = await c.hello;
    const identity = await loadIdentity(identityFile);
    const proof =
      signature ??
      sign('sha256', authMessage(String(hello.service), String(hello.nonce)), identity.key).toString(
        'base64',
      );
    return c.call('authenticate', { certificate: identity.cert, signature: proof });
  }

  function audit(identity?: string): Promise<AuditRecord[]> {
    return box
      .ralph(['daemon', 'audit', '--json', ...(identity === undefined ? [] : ['--identity', identity])])
      .then((r) => {
        expect(r.exitCode, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as AuditRecord[];
      });
  }

  beforeAll(async () => {
    await ensureCliBuilt();
    net = await acquireTestNetwork();
    dir = mkdtempSync(join(tmpdir(), 'ralph-accept-auth-'));
    await createDaemonService(net, service);
    who.control = {
      file: net.identities.client.file,
      id: (await loadIdentity(net.identities.client.file)).name,
    };
    // Both may dial the service (the network's Dial policy covers #ralph-clients); only one has a role.
    who.observer = await enroll(['ralph-clients']);
    who.nobody = await enroll(['ralph-clients']);
    box = new CliSandbox();
    laptop = new CliSandbox();
    const setup = writeDaemonConfig(box, {
      identity: net.identities.server.file,
      service,
      roles: { [who.control.id]: 'control', [who.observer.id]: 'observe' },
    });
    socket = setup.socket;
    // A missing agent would be installed with npm: keep npm off the network (a closed local port).
    daemon = await startDaemonProcess(box, setup, [], {
      npm_config_cache: join(box.root, 'npm-cache'),
      npm_config_registry: 'http://127.0.0.1:9/',
      npm_config_update_notifier: 'false',
      npm_config_fetch_retries: '0',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
    });
    // The box's own user starts the loop everyone looks at, through the local socket.
    const task = box.makeTask('watched', { script: ECHO_SCRIPT });
    const local = await LineClient.unix(socket);
    await local.hello;
    await local.ok('start_loop', { task_dir: 'watched', agent: 'custom', agent_command: task.agentCmd });
    local.close();
    for (const [name, file] of [
      ['box', who.control.file],
      ['box-observe', who.observer.file],
      ['box-nobody', who.nobody.file],
    ] as const) {
      const added = await laptop.ralph(['remote', 'add', name, '--identity', file, '--service', service]);
      expect(added.exitCode, added.stderr).toBe(0);
    }
  }, 240_000);

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    await daemon?.stop('SIGTERM');
    await laptop?.dispose();
    await box?.dispose();
    await net?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('an outsider (not in the Dial policy) cannot reach the service; the SDK says why', async () => {
    const outsider = await context(net.identities.outsider.file);
    let caught: unknown = null;
    await dialZiti(outsider, service, { timeoutMs: 20_000 }).then(
      (s) => s.destroy(),
      (err: unknown) => (caught = err),
    );
    expect(caught).toBeInstanceOf(Error);
    const message = (caught as Error).message;
    console.log(`[accept-auth] outsider dial: ${message}`);
    expect(message).toContain(service);
    expect(message).toMatch(/is not visible to identity "ralph-outsider"/);
    // The same from the CLI: one line, and nothing reached the daemon.
    expect(
      (
        await laptop.ralph([
          'remote',
          'add',
          'box-outsider',
          '--identity',
          net.identities.outsider.file,
          '--service',
          service,
        ])
      ).exitCode,
    ).toBe(0);
    const tested = await laptop.ralph(['remote', 'test', 'box-outsider', '--timeout', '20s'], {
      timeoutMs: 60_000,
    });
    expect(tested.exitCode).not.toBe(0);
    expect(tested.stderr).toMatch(/^ralph: /);
    expect(tested.stderr).not.toMatch(/unexpected error|\n\s+at /);
    const outsiderId = (await loadIdentity(net.identities.outsider.file)).name;
    expect((await audit()).some((r) => r.identity === outsiderId)).toBe(false);
  });

  it('an observe identity attaches read-only; keys, stop_loop, stop and start_loop are FORBIDDEN', async () => {
    const c = await dial(who.observer.file);
    expect(await authenticate(c, who.observer.file)).toMatchObject({
      result: { identity: who.observer.id, role: 'observe' },
    });
    expect(await c.ok('list_loops')).toHaveProperty('loops');
    expect(await c.ok('get_status', { task: 'watched' })).toMatchObject({ task_name: 'watched' });
    const refusals: [string, unknown][] = [
      ['start_loop', { task_dir: 'watched', agent: 'custom', agent_command: 'true' }],
      ['stop_loop', { task: 'watched' }],
      ['stop', { task: 'watched' }],
      ['write_pty', { task: 'watched', data: 'rm -rf /\r' }],
      ['set_interactive_mode', { task: 'watched', enabled: true }],
    ];
    for (const [method, params] of refusals) {
      const answer = await c.call(method, params);
      expect(answer.error, method).toMatchObject({ code: 1014, data: { role: 'observe', method } });
      expect(answer.error!.message).toBe(`role observe may not call ${method}`);
    }

    // Handed over to the runner: the bytes arrive, keys do not go through.
    await c.ok('open_loop', { task: 'watched' });
    const rpc = new RpcClient(c.release());
    let screen = '';
    const dropped: { reason: string; bytes: number }[] = [];
    rpc.on('terminal', (data) => (screen += data.toString('utf8')));
    rpc.on('event', (e) => {
      if (e.type === 'input_dropped') dropped.push(e.data as { reason: string; bytes: number });
    });
    await rpc.request('attach', { from_offset: 0, framing: 'binary' });
    await waitFor(() => screen.includes('AGENT-START') && screen.includes('ECHO:READY'), 'read-only replay');
    for (const [method, params] of [
      ['write_pty', { data: 'zz' }],
      ['set_interactive_mode', { enabled: true }],
      ['stop', {}],
    ] as const) {
      await expect(rpc.request(method, params), method).rejects.toMatchObject({
        code: 1014,
        data: { role: 'observe', method },
        message: `${method} is not allowed: this connection is restricted to the observe role (read-only)`,
      });
    }
    rpc.sendTerminal('zz');
    await waitFor(() => dropped.length > 0, 'input_dropped for a binary key frame');
    expect(dropped[0]).toEqual({ reason: 'this connection is read-only (observe)', bytes: 2 });
    rpc.close();
    // The agent never saw the keys, and the loop still runs.
    const local = await LineClient.unix(socket);
    await local.hello;
    const peek = await local.ok<{ screen?: string; text?: string }>('peek', { task: 'watched' });
    expect(JSON.stringify(peek)).not.toContain('ECHO:"zz"');
    expect(await local.ok('get_status', { task: 'watched' })).toMatchObject({ status: 'running' });
    local.close();

    // From the laptop's CLI: one line naming role and method, exit code 5 (unavailable). `status` first
    // lists the box's loops in the laptop's registry, so `stop` can name one.
    const status = await laptop.ralph(['status', '--json'], { timeoutMs: 60_000 });
    expect(status.stdout).toContain('watched');
    for (const args of [
      ['remote', 'start-loop', 'box-observe', 'watched', '--agent', 'custom', '--agent-command', 'true'],
      ['stop', 'box-observe:watched'],
    ]) {
      const r = await laptop.ralph(args, { timeoutMs: 60_000 });
      console.log(`[accept-auth] ralph ${args.join(' ')} -> ${r.exitCode}: ${r.stderr.trim()}`);
      expect(r.exitCode, args.join(' ')).toBe(ExitCode.unavailable);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^ralph: /);
      expect(r.stderr).toContain('observe');
      expect(r.stderr).toContain(args[0] === 'stop' ? 'stop' : 'start_loop');
      expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
    }
  });

  it('an identity that may dial but has no role is refused and its connection closed', async () => {
    const c = await dial(who.nobody.file);
    expect(await c.hello).toMatchObject({ auth: 'required', identity: null, role: null });
    expect(await c.call('list_loops')).toMatchObject({ error: { code: 1013 } });
    const refused = await authenticate(c, who.nobody.file);
    expect(refused.error).toMatchObject({ code: 1014, data: { role: null, method: 'authenticate' } });
    expect(refused.error!.message).toBe(`identity ${who.nobody.id} has no role on this daemon`);
    await waitFor(() => c.closed, 'the connection to close for an identity without a role');
    const r = await laptop.ralph(['remote', 'test', 'box-nobody'], { timeoutMs: 60_000 });
    expect(r.exitCode).toBe(ExitCode.unavailable);
    expect(r.stderr).toMatch(/^ralph: remote box-nobody refused identity .*no role on this daemon/);
  });

  it('a bad proof is UNAUTHENTICATED and its connection closed', async () => {
    const c = await dial(who.control.file);
    const answer = await authenticate(c, who.control.file, 'AAAA');
    expect(answer.error).toMatchObject({ code: 1013 });
    expect(answer.error!.message).toMatch(/^authentication failed: .*signature/);
    await waitFor(() => c.closed, 'the connection to close after a failed proof');
    // Another identity's certificate with the control identity's signature: also refused.
    const c2 = await dial(who.control.file);
    const hello = await c2.hello;
    const controlKey = (await loadIdentity(who.control.file)).key;
    const stolen = sign('sha256', authMessage(String(hello.service), String(hello.nonce)), controlKey);
    const observerCert = (await loadIdentity(who.observer.file)).cert;
    const swapped = await c2.call('authenticate', {
      certificate: observerCert,
      signature: stolen.toString('base64'),
    });
    expect(swapped.error).toMatchObject({ code: 1013 });
    await waitFor(() => c2.closed, 'the connection to close after a swapped proof');
  });

  it('a daemon refusal from the CLI is one line with a mapped exit code (start-loop without --agent)', async () => {
    box.makeTask('no-agent', { script: ECHO_SCRIPT });
    // The daemon's default agent, claude, is not on the box; its npm install fails (no registry here).
    const r = await laptop.ralph(['remote', 'start-loop', 'box', 'no-agent'], { timeoutMs: 180_000 });
    console.log(
      `[accept-auth] ralph remote start-loop box no-agent -> ${r.exitCode}: ${r.stderr.trim().split('\n').at(-1)}`,
    );
    expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
    // The install's progress lines (`claude: ...`) come first; the refusal is one `ralph:` line at the end.
    const lines = r.stderr.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('ralph:'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^ralph: .*claude/);
    expect(r.exitCode).toBe(ExitCode.agentMissing);
    const missing = await laptop.ralph(
      ['remote', 'start-loop', 'box', 'no-such-folder', '--agent', 'custom', '--agent-command', 'true'],
      { timeoutMs: 60_000 },
    );
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^ralph: .*does not exist/);
    expect(missing.exitCode).toBe(ExitCode.invalidTask);
  });

  it('puts every case that reached the daemon in the audit log (ralph daemon audit --json)', async () => {
    const records = await waitFor(async () => {
      const all = await audit();
      return all.some((r) => r.identity === null && r.code === 1013 && r.method === 'authenticate')
        ? all
        : null;
    }, 'the audit records');
    const has = (want: Partial<AuditRecord>, what: string): void =>
      expect(records, what).toContainEqual(expect.objectContaining(want));
    for (const method of ['start_loop', 'stop_loop', 'stop', 'write_pty', 'set_interactive_mode']) {
      has(
        {
          identity: who.observer.id,
          role: 'observe',
          transport: 'ziti',
          method,
          outcome: 'error',
          code: 1014,
        },
        `observer ${method}`,
      );
    }
    has(
      { identity: who.observer.id, role: 'observe', method: 'open_loop', task: 'watched', outcome: 'ok' },
      'open_loop',
    );
    has({ identity: who.observer.id, method: 'authenticate', outcome: 'ok' }, 'observer authenticated');
    has(
      { identity: who.nobody.id, role: null, method: 'authenticate', outcome: 'error', code: 1014 },
      'no role',
    );
    has({ identity: null, role: null, method: 'list_loops', outcome: 'error', code: 1013 }, 'before a proof');
    has(
      { identity: null, transport: 'ziti', method: 'authenticate', outcome: 'error', code: 1013 },
      'bad proof',
    );
    has(
      { identity: who.control.id, role: 'control', method: 'start_loop', outcome: 'error', code: -32001 },
      'no agent',
    );
    // The keys an observer typed are never written to the log, and --identity filters.
    expect(JSON.stringify(records)).not.toContain('rm -rf');
    const observer = await audit(who.observer.id);
    expect(observer.length).toBeGreaterThanOrEqual(8);
    expect(observer.every((r) => r.identity === who.observer.id)).toBe(true);
    console.log(`[accept-auth] ${records.length} audit records, ${observer.length} of the observer`);
  });

  it('hostile requests over the overlay: seeded fuzzed frames get errors and the daemon keeps serving', async () => {
    const c = await dial(who.control.file);
    expect(await authenticate(c, who.control.file)).toMatchObject({ result: { role: 'control' } });
    const stream = c.release();
    const pid = daemon.child.pid!;
    const rssBefore = rssBytes(pid);
    const seed = fuzzSeed();
    const outcome = await fuzzDaemon(stream, { seed, count: ZITI_FUZZ_COUNT, limitMs: 180_000, chunk: 200 });
    const answer = await rawCall(stream, 'after-fuzz', 'get_health', 120_000);
    expect(JSON.parse(answer)).toMatchObject({ id: 'after-fuzz', result: { service } });
    const rssAfter = rssBytes(pid);
    console.log(
      `[accept-auth] fuzz over Ziti, seed ${seed} (RALPH_FUZZ_SEED): ${outcome.sent} frames, ` +
        `${(outcome.bytes / 1048576).toFixed(1)} MB in ${outcome.ms} ms, ${outcome.answers} answer lines; ` +
        `daemon RSS ${(rssBefore / 1048576).toFixed(1)} -> ${(rssAfter / 1048576).toFixed(1)} MB`,
    );
    expect(outcome.sent, `seed ${seed}`).toBe(ZITI_FUZZ_COUNT);
    expect(rssAfter, `seed ${seed}`).toBeLessThan(rssBefore + 150 * 1024 * 1024);
    stream.destroy();
    // The loop everyone watched is untouched, and other callers are still served.
    const local = await LineClient.unix(socket);
    await local.hello;
    expect(await local.ok('get_status', { task: 'watched' })).toMatchObject({ status: 'running' });
    await local.ok('stop_loop', { task: 'watched', force: true });
    local.close();
    const again = await dial(who.observer.file);
    expect(await authenticate(again, who.observer.file)).toMatchObject({ result: { role: 'observe' } });
    again.close();
  }, 400_000);
});
