/**
 * The daemon over a real OpenZiti test network: the built `ralph daemon` binds the service (its own terminator),
 * a client dials it, proves who it is with its identity's certificate, and starts, lists, attaches to and stops
 * a loop with the fake agent, as over the local socket. Skipped with the usual notice without the ziti CLI.
 */
import { sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcClient } from '../../src/protocol/client.js';
import { dialZiti } from '../../src/transport/ziti.js';
import { ZitiContext } from '../../src/ziti/context.js';
import { loadIdentity } from '../../src/ziti/identity.js';
import { authMessage } from '../../src/daemon/auth.js';
import { useCliSandbox, waitFor } from '../cli/harness.js';
import { uniqueName } from '../ziti/e2e/helpers.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../ziti/network.js';
import { LineClient, startDaemonProcess, writeDaemonConfig, type DaemonProcess } from './harness.js';

const ECHO_SCRIPT = [{ print: 'AGENT-START' }, { echo: { until: 'quit\r', timeoutMs: 60_000 } }];

describe.skipIf(!zitiTestsEnabled())('ralph daemon over a Ziti service', () => {
  const sandbox = useCliSandbox();
  let net: TestNetwork;
  let client: ZitiContext;
  let stranger: ZitiContext;
  let daemon: DaemonProcess;
  const terminator = uniqueName('daemon');

  beforeAll(async () => {
    net = await acquireTestNetwork();
    client = await ZitiContext.fromIdentityFile(net.identities.client.file);
    stranger = await ZitiContext.fromIdentityFile(net.identities.gotunnel.file);
    const setup = writeDaemonConfig(sandbox(), {
      identity: net.identities.server.file,
      service: net.services.plain,
      terminator,
      roles: { [client.identity.name]: 'control', [net.identities.client.name]: 'control' },
    });
    daemon = await startDaemonProcess(sandbox(), setup, []);
  });

  afterAll(async () => {
    await daemon?.stop('SIGTERM');
    await client?.close();
    await stranger?.close();
    await net?.stop();
  });

  async function dial(ctx: ZitiContext): Promise<LineClient> {
    return new LineClient(
      await dialZiti(ctx, net.services.plain, { terminatorIdentity: terminator, timeoutMs: 15_000 }),
    );
  }

  async function authenticate(c: LineClient, identityFile: string): Promise<unknown> {
    const hello = await c.hello;
    const identity = await loadIdentity(identityFile);
    const signature = sign('sha256', authMessage(String(hello.service), String(hello.nonce)), identity.key);
    return c.call('authenticate', { certificate: identity.cert, signature: signature.toString('base64') });
  }

  it('needs a proof first, then starts, lists, attaches to and stops a loop', async () => {
    const c = await dial(client);
    const hello = await c.hello;
    // The test network's routers (v1.7.2) do not vouch for the dialer: the client proves who it is.
    expect(hello).toMatchObject({
      service: net.services.plain,
      auth: 'required',
      identity: null,
      role: null,
    });
    expect(await c.call('list_loops')).toMatchObject({ error: { code: 1013 } });
    expect(await c.call('get_status', { task: 'ziti-task' })).toMatchObject({ error: { code: 1013 } });
    const answer = await authenticate(c, net.identities.client.file);
    expect(answer).toMatchObject({ result: { identity: client.identity.name, role: 'control' } });
    expect(await c.ok('get_health')).toMatchObject({ bound: true, service: net.services.plain });

    const task = sandbox().makeTask('ziti-task', { script: ECHO_SCRIPT });
    const started = await c.ok<{ loop_id: string; status: string }>('start_loop', {
      task_dir: 'ziti-task',
      agent: 'custom',
      agent_command: task.agentCmd,
      max_iterations: 1,
    });
    expect(started.status).toBe('running');
    const list = await c.ok<{ loops: { task: string; loop_id: string }[] }>('list_loops');
    expect(list.loops.find((l) => l.task === 'ziti-task')?.loop_id).toBe(started.loop_id);

    // Events of a forwarded subscription come back tagged with their task.
    expect(await c.ok('subscribe', { task: 'ziti-task', events: ['state_change'] })).toEqual({
      subscribed: ['state_change'],
    });

    await c.ok('open_loop', { task: 'ziti-task' });
    const rpc = new RpcClient(c.release());
    let screen = '';
    rpc.on('terminal', (data) => (screen += data.toString('utf8')));
    await rpc.request('set_interactive_mode', { enabled: true });
    await rpc.request('attach', { from_offset: 0, framing: 'binary' });
    await waitFor(
      () => screen.includes('AGENT-START') && screen.includes('ECHO:READY'),
      'replay over the overlay',
    );
    rpc.sendTerminal('zz');
    await waitFor(() => screen.includes('ECHO:"zz"'), 'keys echoed over the overlay');
    rpc.close();

    const c2 = await dial(client);
    await authenticate(c2, net.identities.client.file);
    expect(await c2.ok('stop_loop', { task: 'ziti-task' })).toEqual({ task: 'ziti-task', status: 'stopped' });
    c2.close();
  });

  it('refuses a bad proof and an identity without a role, closing the connection', async () => {
    const c = await dial(client);
    await c.hello;
    const answer = await c.call('authenticate', { certificate: client.identity.cert, signature: 'AAAA' });
    expect(answer.error).toMatchObject({ code: 1013 });
    expect(answer.error!.message).toMatch(/authentication failed: .*signature/);
    await waitFor(() => c.closed, 'the connection to close after a failed proof');
    const s = await dial(stranger);
    const shello = await s.hello;
    expect(shello.role).toBeNull();
    const refused = (await authenticate(s, net.identities.gotunnel.file)) as { error?: { code: number } };
    expect(refused.error).toMatchObject({ code: 1014 });
    await waitFor(() => s.closed, 'the connection to close for an identity without a role');
  });

  it('lets an observe identity look but not steer, and audits every request', async () => {
    await daemon.stop('SIGTERM');
    const setup = writeDaemonConfig(sandbox(), {
      identity: net.identities.server.file,
      service: net.services.plain,
      terminator,
      roles: { [client.identity.name]: 'observe' },
    });
    daemon = await startDaemonProcess(sandbox(), setup, []);
    // The box's own user starts a loop through the local socket.
    const local = await LineClient.unix(setup.socket);
    await local.hello;
    const task = sandbox().makeTask('watched', { script: ECHO_SCRIPT });
    await local.ok('start_loop', { task_dir: 'watched', agent: 'custom', agent_command: task.agentCmd });

    const c = await dial(client);
    expect(await authenticate(c, net.identities.client.file)).toMatchObject({
      result: { identity: client.identity.name, role: 'observe' },
    });
    expect(await c.ok('list_loops')).toHaveProperty('loops');
    expect(await c.ok('get_status', { task: 'watched' })).toMatchObject({ task_name: 'watched' });
    const refusals: [string, unknown][] = [
      ['start_loop', { task_dir: 'anything' }],
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

    // Handed over to the runner, the connection is read-only there too.
    await c.ok('open_loop', { task: 'watched' });
    const rpc = new RpcClient(c.release());
    let screen = '';
    rpc.on('terminal', (data) => (screen += data.toString('utf8')));
    await rpc.request('attach', { from_offset: 0, framing: 'binary' });
    await waitFor(() => screen.includes('ECHO:READY'), 'read-only replay for an observer');
    await expect(rpc.request('set_interactive_mode', { enabled: true })).rejects.toMatchObject({
      code: 1014,
    });
    await expect(rpc.request('stop', {})).rejects.toMatchObject({ code: 1014 });
    rpc.close();
    expect(await local.ok('get_status', { task: 'watched' })).toMatchObject({ status: 'running' });
    await local.ok('stop_loop', { task: 'watched', force: true });
    local.close();

    const auditFile = join(sandbox().paths.dataDir, 'daemon', 'audit.ndjson');
    const audit = await waitFor(() => {
      const lines = existsSync(auditFile) ? readFileSync(auditFile, 'utf8').trim().split('\n') : [];
      const records = lines.filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      return records.some((r) => r.method === 'stop_loop' && r.transport === 'unix') ? records : null;
    }, 'the audit lines');
    expect(audit).toContainEqual(
      expect.objectContaining({
        identity: client.identity.name,
        role: 'observe',
        transport: 'ziti',
        method: 'start_loop',
        outcome: 'error',
        code: 1014,
      }),
    );
    expect(audit).toContainEqual(
      expect.objectContaining({
        identity: client.identity.name,
        method: 'open_loop',
        task: 'watched',
        outcome: 'ok',
      }),
    );
    expect(JSON.stringify(audit)).not.toContain('rm -rf');
    const shown = await sandbox().ralph(['daemon', 'audit', '--identity', client.identity.name, '--json']);
    expect(shown.exitCode).toBe(0);
    const records = JSON.parse(shown.stdout) as { identity: string; method: string }[];
    expect(records.length).toBeGreaterThan(5);
    expect(records.every((r) => r.identity === client.identity.name)).toBe(true);
    expect(records.map((r) => r.method)).toContain('set_interactive_mode');
  });
});
