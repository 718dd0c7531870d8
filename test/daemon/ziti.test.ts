/**
 * The daemon over a real OpenZiti test network: the built `ralph daemon` binds the service (its own terminator),
 * a client dials it, proves who it is with its identity's certificate, and starts, lists, attaches to and stops
 * a loop with the fake agent, as over the local socket. Who may do what (outsiders, the observe role, identities
 * without a role, bad proofs, the audit log) is acceptance-auth.test.ts. Skipped with the usual notice without
 * the ziti CLI.
 */
import { sign } from 'node:crypto';
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
  let daemon: DaemonProcess;
  const terminator = uniqueName('daemon');

  beforeAll(async () => {
    net = await acquireTestNetwork();
    client = await ZitiContext.fromIdentityFile(net.identities.client.file);
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
});
