/**
 * The daemon over its local Unix socket, run as the built `ralph daemon` with real runners, real PTYs and
 * the fake agent: starting, listing, attaching through `open_loop` (replay and keys), forwarding by task,
 * stopping, and re-adopting a live runner after the daemon is killed. Hostile input and fuzzing are in
 * hostile.test.ts.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, beforeAll } from 'vitest';
import { RpcClient } from '../../src/protocol/client.js';
import { Registry, type SessionRecord } from '../../src/registry/index.js';
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
    const { agents } = await client.ok<{ agents: { name: string; available: boolean }[] }>('get_agents');
    expect(agents.map((a) => a.name)).toEqual(expect.arrayContaining(['claude', 'codex', 'demo']));
    expect(agents.find((a) => a.name === 'demo')).toMatchObject({ available: true });
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

    // The runner sees the hand-over connection close with the client: the keyboard is free again.
    const other = await LineClient.unix(daemon.socket);
    await other.hello;
    await waitFor(
      async () =>
        (await other.ok<{ writer: string | null }>('get_status', { task: 'echo-task' })).writer === null,
      'the writer lease to be released when the client went away',
    );
    const stopped = await other.ok<{ task: string; status: string }>('stop_loop', { task: 'echo-task' });
    expect(stopped).toEqual({ task: 'echo-task', status: 'stopped' });
    other.close();
  });

  it('measures round trips: forwarded by task, and through a handed-over connection', async () => {
    const task = sandbox().makeTask('timed', { script: ECHO_SCRIPT });
    const client = await LineClient.unix(daemon.socket);
    await client.hello;
    await client.ok('start_loop', startParams(task));
    const rounds = 200;
    const forwarded: number[] = [];
    for (let i = 0; i < rounds; i += 1) {
      const t0 = process.hrtime.bigint();
      await client.ok('get_status', { task: 'timed' });
      forwarded.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    await client.ok('open_loop', { task: 'timed' });
    const rpc = new RpcClient(client.release());
    const direct: number[] = [];
    for (let i = 0; i < rounds; i += 1) {
      const t0 = process.hrtime.bigint();
      await rpc.request('get_status');
      direct.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    rpc.close();
    const p = (xs: number[], q: number): string =>
      [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!.toFixed(3);
    console.log(
      `[daemon] get_status round trip over the local socket, ${rounds} each: forwarded by task p50 ${p(forwarded, 0.5)} ms p99 ${p(forwarded, 0.99)} ms; handed over (open_loop) p50 ${p(direct, 0.5)} ms p99 ${p(direct, 0.99)} ms`,
    );
    expect(forwarded).toHaveLength(rounds);
    expect(direct).toHaveLength(rounds);
    const other = await LineClient.unix(daemon.socket);
    await other.hello;
    await other.ok('stop_loop', { task: 'timed', force: true });
    other.close();
  });

  it('refuses open_loop and git_connect without an id before opening anything', async () => {
    const task = sandbox().makeTask('no-id', { script: ECHO_SCRIPT });
    const client = await LineClient.unix(daemon.socket);
    await client.hello;
    await client.ok('start_loop', startParams(task));
    const fds = (): number => readdirSync(`/proc/${daemon.child.pid!}/fd`).length;
    await client.ok('get_health');
    const before = fds();
    // Notifications get no answer, so nothing could follow them over the connection: each one is dropped.
    for (let i = 0; i < 40; i += 1)
      client.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'open_loop', params: { task: 'no-id' } })}\n`);
    client.write(
      `${JSON.stringify({ jsonrpc: '2.0', method: 'git_connect', params: { project: 'by-notice', service: 'git-receive-pack' } })}\n`,
    );
    client.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: null, method: 'open_loop', params: { task: 'no-id' } })}\n`,
    );
    await waitFor(() => client.orphans.length >= 1, 'the answer to the request with a null id');
    expect(client.orphans[0]!.error).toMatchObject({ code: -32600 });
    expect(client.orphans[0]!.error!.message).toMatch(
      /open_loop hands the connection over, so it needs an id/,
    );
    // The same connection still speaks JSON-RPC to the daemon, which opened no runner connection.
    expect(await client.ok('get_health')).toMatchObject({ service: 'ralph-test' });
    expect(fds()).toBeLessThanOrEqual(before + 2);
    expect(existsSync(join(setup.workspace, 'repos', 'by-notice.git'))).toBe(false);
    await client.ok('stop_loop', { task: 'no-id', force: true });
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

describe('the daemon event journal', () => {
  const sandbox = useCliSandbox();
  let daemon: DaemonProcess;

  beforeAll(async () => {
    daemon = await startDaemonProcess(sandbox(), writeDaemonConfig(sandbox()));
  });

  function events(
    client: LineClient,
  ): { seq: number; type: string; task: string; data: Record<string, unknown> }[] {
    return client.notifications
      .filter((n) => n.method === 'loop_event')
      .map((n) => n.params as { seq: number; type: string; task: string; data: Record<string, unknown> });
  }

  it('journals starts, status changes and ends, replays them after since_seq and streams new ones', async () => {
    const done = sandbox().makeTask('finishes', { script: [{ passAll: true }, { promise: true }] });
    const watcher = await LineClient.unix(daemon.socket);
    await watcher.hello;
    expect(await watcher.ok('subscribe_events', {})).toEqual({ seq: 0, replayed: 0 });

    const client = await LineClient.unix(daemon.socket);
    await client.hello;
    const started = await client.ok<LoopRow>('start_loop', {
      task_dir: 'finishes',
      agent: 'custom',
      agent_command: done.agentCmd,
      max_iterations: 2,
    });
    const end = await waitFor(
      () => events(watcher).find((e) => e.type === 'loop_completed'),
      'loop_completed streamed live',
      30_000,
    );
    expect(end).toMatchObject({ task: 'finishes', data: { loop_id: started.loop_id, status: 'completed' } });
    const seen = events(watcher);
    expect(seen[0]).toMatchObject({ seq: 1, type: 'loop_started', task: 'finishes' });
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));

    // A client that missed them gets them replayed, in order, and nothing twice.
    const late = await LineClient.unix(daemon.socket);
    await late.hello;
    const answer = await late.ok<{ seq: number; replayed: number }>('subscribe_events', { since_seq: 1 });
    expect(answer.replayed).toBe(answer.seq - 1);
    await waitFor(() => events(late).length === answer.replayed, 'the replay');
    expect(events(late).map((e) => e.seq)).toEqual(seen.slice(1, answer.seq).map((e) => e.seq));
    for (const c of [watcher, client, late]) c.close();
  });

  it('after a SIGKILL and restart, replays since_seq what happened while it was down', async () => {
    const task = sandbox().makeTask('while-away', { script: ECHO_SCRIPT });
    const client = await LineClient.unix(daemon.socket);
    await client.hello;
    await client.ok('subscribe_events', {});
    const started = await client.ok<LoopRow>('start_loop', {
      task_dir: 'while-away',
      agent: 'custom',
      agent_command: task.agentCmd,
    });
    const startEntry = await waitFor(
      () => events(client).find((e) => e.type === 'loop_started' && e.task === 'while-away'),
      'loop_started',
    );
    client.close();
    await daemon.stop('SIGKILL');
    const stopped = await sandbox().ralph(['stop', 'while-away']);
    expect(stopped.exitCode).toBe(0);

    daemon = await startDaemonProcess(sandbox(), writeDaemonConfig(sandbox()));
    const back = await LineClient.unix(daemon.socket);
    await back.hello;
    const answer = await back.ok<{ seq: number; replayed: number }>('subscribe_events', {
      since_seq: startEntry.seq,
    });
    expect(answer.seq).toBeGreaterThan(startEntry.seq);
    const end = await waitFor(
      () => events(back).find((e) => e.type === 'loop_failed' && e.task === 'while-away'),
      'the end of the loop that ended while the daemon was down',
    );
    expect(end.data).toMatchObject({ loop_id: started.loop_id, status: 'stopped' });
    expect(events(back).every((e) => e.seq > startEntry.seq)).toBe(true);
    back.close();
  });

  it('tags events of a forwarded subscription with their task, and enforces maxLoops', async () => {
    const hang = [{ print: 'up' }, { hang: true }];
    const client = await LineClient.unix(daemon.socket);
    await client.hello;
    const names = ['m1', 'm2', 'm3', 'm4', 'm5'];
    for (const name of names.slice(0, 4)) {
      const task = sandbox().makeTask(name, { script: hang });
      await client.ok('start_loop', { task_dir: name, agent: 'custom', agent_command: task.agentCmd });
    }
    const fifth = sandbox().makeTask('m5', { script: hang });
    const refused = await client.call('start_loop', {
      task_dir: 'm5',
      agent: 'custom',
      agent_command: fifth.agentCmd,
    });
    expect(refused.error).toMatchObject({ code: -32002, data: { max_loops: 4, active: 4 } });
    expect(refused.error!.message).toMatch(/maxLoops 4/);

    expect(await client.ok('subscribe', { task: 'm1', events: ['state_change'] })).toEqual({
      subscribed: ['state_change'],
    });
    await client.ok('pause', { task: 'm1' });
    const tagged = await waitFor(
      () =>
        client.notifications.find(
          (n) => n.method === 'event' && (n.params as { task?: string }).task === 'm1',
        ),
      'a state_change tagged with its task',
    );
    expect(tagged.params).toMatchObject({ type: 'state_change', task: 'm1', data: { paused: true } });
    for (const name of names.slice(0, 4)) await client.ok('stop_loop', { task: name, force: true });
    client.close();
  });
});

describe('adoption on daemon start', () => {
  const sandbox = useCliSandbox();

  it('marks a row no runner can be found for as lost, journals it, and leaves ended rows alone', async () => {
    const registry = Registry.open(sandbox().paths.registryFile);
    const row = (task: string, status: 'running' | 'completed'): SessionRecord =>
      registry.create({
        task,
        location: 'local',
        transport: 'unix',
        address: join(sandbox().paths.runDir, `${task}.sock`),
        agent: 'custom',
        taskDir: join(sandbox().root, 'tasks', task),
        maxIterations: 3,
        status,
      });
    let ghost: SessionRecord;
    let ended: SessionRecord;
    try {
      ghost = row('ghost', 'running');
      ended = row('done-before', 'completed');
    } finally {
      registry.close();
    }
    const daemon = await startDaemonProcess(sandbox(), writeDaemonConfig(sandbox()));
    expect(daemon.log.some((l) => l.includes('adopted loops') && l.includes('"lost":["ghost"]'))).toBe(true);
    const client = await LineClient.unix(daemon.socket);
    await client.hello;
    const list = await client.ok<{ loops: (LoopRow & { exit_reason: string | null })[] }>('list_loops');
    expect(list.loops.find((l) => l.task === 'ghost')).toMatchObject({
      loop_id: String(ghost.id),
      status: 'lost',
      exit_reason: 'the daemon found no runner to account for it',
    });
    expect(list.loops.find((l) => l.task === 'done-before')).toMatchObject({
      loop_id: String(ended.id),
      status: 'completed',
    });
    await client.ok('subscribe_events', {});
    const lost = await waitFor(
      () => client.notifications.find((n) => n.method === 'loop_event'),
      'the loop_lost entry',
    );
    expect(lost.params).toMatchObject({ type: 'loop_lost', task: 'ghost', data: { status: 'lost' } });
    client.close();
  });
});
