/**
 * The daemon over its local Unix socket, run as the built `ralph daemon` with real runners, real PTYs and
 * the fake agent: starting, listing, attaching through `open_loop` (replay and keys), forwarding by task,
 * stopping, and re-adopting a live runner after the daemon is killed.
 */
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, beforeAll } from 'vitest';
import { RpcClient } from '../../src/protocol/client.js';
import { isAlive } from '../../src/util/proc.js';
import { useCliSandbox, waitFor, type TaskFolder } from '../cli/harness.js';
import {
  LineClient,
  startDaemonProcess,
  writeDaemonConfig,
  type DaemonProcess,
  type DaemonSetup,
} from './harness.js';

const ECHO_SCRIPT = [{ print: 'AGENT-START' }, { echo: { until: 'quit\r', timeoutMs: 60_000 } }];

interface LoopRow {
  task: string;
  loop_id: string;
  status: string;
  task_dir: string;
}

describe('ralph daemon over its Unix socket', () => {
  const sandbox = useCliSandbox();
  let setup: DaemonSetup;
  let daemon: DaemonProcess;

  beforeAll(async () => {
    setup = writeDaemonConfig(sandbox());
    daemon = await startDaemonProcess(sandbox(), setup);
  });

  function startParams(task: TaskFolder, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      task_dir: task.name,
      agent: 'custom',
      agent_command: task.agentCmd,
      max_iterations: 1,
      ...extra,
    };
  }

  it('says hello: the local caller is this user, with control, and needs no proof', async () => {
    const client = await LineClient.unix(daemon.socket);
    const hello = await client.hello;
    expect(hello).toMatchObject({ service: 'ralph-test', auth: 'none', role: 'control' });
    expect(hello.identity).toBe(`local:${process.getuid!()}`);
    expect(String(hello.nonce)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const health = await client.ok('get_health');
    expect(health).toMatchObject({
      max_loops: 4,
      workspace: setup.workspace,
      service: 'ralph-test',
      bound: false,
    });
    client.close();
  });

  it('starts a loop, lists it, attaches through open_loop with replay and keys, and stops it', async () => {
    const task = sandbox().makeTask('echo-task', { script: ECHO_SCRIPT });
    const client = await LineClient.unix(daemon.socket);
    await client.hello;
    const started = await client.ok<LoopRow>('start_loop', startParams(task));
    expect(started).toMatchObject({
      task: 'echo-task',
      status: 'running',
      task_dir: setup.workspace + '/echo-task',
    });

    const list = await client.ok<{ loops: LoopRow[]; count: number }>('list_loops');
    expect(list.loops.find((l) => l.task === 'echo-task')).toMatchObject({
      loop_id: started.loop_id,
      status: 'running',
    });

    // A per-loop method with `task` goes to that runner.
    const status = await client.ok<{ task_name: string; status: string }>('get_status', {
      task: 'echo-task',
    });
    expect(status).toMatchObject({ task_name: 'echo-task' });

    // Hand-over: the same connection now speaks to the runner.
    const opened = await client.ok<LoopRow>('open_loop', { task: 'echo-task' });
    expect(opened).toMatchObject({ task: 'echo-task', loop_id: started.loop_id });
    const rpc = new RpcClient(client.release());
    let screen = '';
    rpc.on('terminal', (data) => (screen += data.toString('utf8')));
    await rpc.request('set_interactive_mode', { enabled: true });
    const attached = await rpc.request('attach', { from_offset: 0, framing: 'binary' });
    expect(attached.framing).toBe('binary');
    await waitFor(
      () => screen.includes('AGENT-START') && screen.includes('ECHO:READY'),
      'replay of the agent output',
    );
    rpc.sendTerminal('hi');
    await waitFor(() => screen.includes('ECHO:"hi"'), 'the keys echoed through the daemon');
    rpc.close();

    const other = await LineClient.unix(daemon.socket);
    await other.hello;
    const stopped = await other.ok<{ task: string; status: string }>('stop_loop', { task: 'echo-task' });
    expect(stopped).toEqual({ task: 'echo-task', status: 'stopped' });
    other.close();
  });

  it('refuses hostile input with clear errors and keeps serving', async () => {
    const outside = join(sandbox().root, 'outside-task');
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'prd.json'), '{}');
    writeFileSync(join(outside, 'prompt.md'), 'x');
    symlinkSync(outside, join(setup.workspace, 'escape'));
    const client = await LineClient.unix(daemon.socket);
    await client.hello;

    const cases: [string, unknown, number, RegExp][] = [
      ['start_loop', { task_dir: '../outside-task' }, -32602, /task_dir: must not contain '\.\.'/],
      ['start_loop', { task_dir: 'a/../../outside-task' }, -32602, /must not contain '\.\.'/],
      ['start_loop', { task_dir: outside }, -32602, /outside the workspace/],
      ['start_loop', { task_dir: 'escape' }, -32602, /leads outside the workspace.*symlink/],
      ['start_loop', { task_dir: 'missing-folder' }, 1011, /does not exist/],
      ['start_loop', { task_dir: 5 }, -32602, /task_dir: expected string/],
      ['start_loop', { task_dir: 'x', name: '../../evil' }, -32602, /name:/],
      ['start_loop', { task_dir: 'x', name: 'a'.repeat(65) }, -32602, /name:/],
      ['start_loop', { task_dir: 'x', agent: 'rm -rf' }, -32602, /agent:/],
      ['stop_loop', { task: 'no-such-loop' }, -32003, /no loop named no-such-loop/],
      ['open_loop', { task: 'no-such-loop' }, -32003, /no loop named/],
      ['open_loop', { task: '../etc' }, -32602, /task:/],
      ['get_status', { task: 'no-such-loop' }, -32003, /no loop named/],
      ['get_status', {}, -32602, /task: missing/],
      ['get_status', { task: 'x;rm' }, -32602, /task:/],
      ['attach', { task: 'no-such-loop' }, -32602, /open_loop/],
      ['list_loops', { extra: 1 }, -32602, /extra: unknown field/],
      ['no_such_method', {}, -32601, /method not found/],
    ];
    for (const [method, params, code, message] of cases) {
      const answer = await client.call(method, params);
      expect(answer.error, `${method} ${JSON.stringify(params)}`).toMatchObject({ code });
      expect(answer.error!.message, `${method} ${JSON.stringify(params)}`).toMatch(message);
    }

    client.write('{not json\n');
    client.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 999, method: 'list_loops', params: { pad: 'x'.repeat(2 * 1024 * 1024) } })}\n`,
    );
    await waitFor(() => client.orphans.length >= 2, 'errors for the bad lines');
    expect(client.orphans.map((o) => o.error?.code)).toEqual([-32700, -32600]);
    expect(client.orphans[1]!.error!.message).toMatch(/too long/);

    // Still serving, on this connection and new ones.
    expect(await client.ok('get_health')).toMatchObject({ service: 'ralph-test' });
    const fresh = await LineClient.unix(daemon.socket);
    await fresh.hello;
    expect(await fresh.ok('list_loops')).toHaveProperty('loops');
    fresh.close();
    client.close();
  });

  it('a killed daemon leaves its loops running; restarted, it adopts and serves them', async () => {
    const task = sandbox().makeTask('survivor', { script: ECHO_SCRIPT });
    const client = await LineClient.unix(daemon.socket);
    await client.hello;
    const started = await client.ok<LoopRow>('start_loop', startParams(task));
    client.close();
    const runner = sandbox().session('survivor');
    expect(runner.pid).not.toBeNull();

    await daemon.stop('SIGKILL');
    expect(isAlive(runner.pid!)).toBe(true);
    expect(existsSync(daemon.socket)).toBe(true); // a stale socket the next daemon must clear

    daemon = await startDaemonProcess(sandbox(), setup);
    expect(isAlive(runner.pid!)).toBe(true);
    const again = await LineClient.unix(daemon.socket);
    await again.hello;
    const list = await again.ok<{ loops: LoopRow[] }>('list_loops');
    expect(list.loops.find((l) => l.task === 'survivor')).toMatchObject({
      loop_id: started.loop_id,
      status: 'running',
    });
    expect(await again.ok('get_status', { task: 'survivor' })).toMatchObject({ task_name: 'survivor' });
    expect(await again.ok('stop_loop', { task: 'survivor', force: true })).toMatchObject({
      status: 'stopped',
    });
    again.close();
    await waitFor(() => !isAlive(runner.pid!), 'the runner to exit after stop', 15_000);
  });

  it('SIGTERM closes the listeners and leaves loops running', async () => {
    const task = sandbox().makeTask('after-term', { script: ECHO_SCRIPT });
    const client = await LineClient.unix(daemon.socket);
    await client.hello;
    await client.ok('start_loop', startParams(task));
    const runner = sandbox().session('after-term');
    expect(await daemon.stop('SIGTERM')).toBe(0);
    expect(existsSync(daemon.socket)).toBe(false);
    await waitFor(() => client.closed, 'the client connection to close');
    expect(isAlive(runner.pid!)).toBe(true);
    expect(daemon.log.some((l) => l.includes('loops keep running'))).toBe(true);
  });
});
