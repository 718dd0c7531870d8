/**
 * The laptop side against the real daemon on a real OpenZiti test network. Two RALPH_HOMEs: the box runs the
 * built `ralph daemon` (its own service, created for this file) and its loops with the fake agent; the laptop
 * runs the built `ralph` with a remotes config. Covered: `remote test`, `remote start-loop`, `status` listing a
 * loop started elsewhere and marking an unknown run `lost` while an unbound service is `unreachable`,
 * `<remote>:<task>` addressing, `attach` over the overlay with keys echoed, `peek`/`logs`/`stop` of a remote
 * loop, and an attach that survives the daemon being killed and restarted with no gap in the bytes.
 * Times are printed, never asserted.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttachSession, type AttachEnd } from '../../src/client/attach.js';
import { Fleet, type FleetRow } from '../../src/client/fleet/index.js';
import { makeActions } from '../../tui/state/actions.js';
import type { TuiAction } from '../../tui/state/types.js';
import { closeZitiContexts } from '../../src/client/remote/daemon-client.js';
import { ralphPaths } from '../../src/config/paths.js';
import { loadIdentity } from '../../src/ziti/identity.js';
import { Registry, type SessionRecord } from '../../src/registry/index.js';
import { CliSandbox, useCliSandbox, waitFor } from '../cli/harness.js';
import { ensureCliBuilt } from '../cli/built.js';
import {
  LineClient,
  startDaemonProcess,
  writeDaemonConfig,
  type DaemonProcess,
  type DaemonSetup,
  createDaemonService,
} from '../daemon/harness.js';
import { uniqueName } from '../ziti/e2e/helpers.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../ziti/network.js';

const ECHO_SCRIPT = [{ print: 'AGENT-START' }, { echo: { until: 'quit\r', timeoutMs: 120_000 } }];

interface StatusJson {
  sessions: SessionRecord[];
  reconciled: { lost: number[]; unreachable: number[]; added: number[] };
  remotes: { name: string; reachable: boolean; error: string | null; ms: number; loops: number }[];
}

describe.skipIf(!zitiTestsEnabled())('a laptop reaching loops through a remote daemon over OpenZiti', () => {
  const laptop = useCliSandbox();
  let box: CliSandbox;
  let net: TestNetwork;
  let setup: DaemonSetup;
  let daemon: DaemonProcess;
  const service = uniqueName('ralph-box');
  const unbound = uniqueName('ralph-nobody');

  beforeAll(async () => {
    await ensureCliBuilt();
    net = await acquireTestNetwork();
    for (const name of [service, unbound]) {
      await createDaemonService(net, name);
    }
    box = new CliSandbox();
    setup = writeDaemonConfig(box, {
      identity: net.identities.server.file,
      service,
      // The caller is named by its certificate's CN, the identity's id in the controller.
      roles: { [(await loadIdentity(net.identities.client.file)).name]: 'control' },
    });
    daemon = await startDaemonProcess(box, setup, []);
  });

  afterAll(async () => {
    await closeZitiContexts();
    await daemon?.stop('SIGTERM');
    await box?.dispose();
    if (net !== undefined) {
      for (const name of [service, unbound])
        await net.ziti(['edge', 'delete', 'service', name]).catch(() => undefined);
      await net.stop();
    }
  });

  async function ok(args: string[], timeoutMs = 60_000): Promise<string> {
    const result = await laptop().ralph(args, { timeoutMs });
    if (result.exitCode !== 0) {
      throw new Error(
        `ralph ${args.join(' ')} exited ${result.exitCode}:\n${result.stdout}\n${result.stderr}`,
      );
    }
    return result.stdout;
  }

  async function status(): Promise<{ json: StatusJson; ms: number }> {
    const started = performance.now();
    const out = await ok(['status', '--json', '--remote-timeout', '5s']);
    return { json: JSON.parse(out) as StatusJson, ms: performance.now() - started };
  }

  /** Starts a loop with the echoing fake agent through the daemon's local socket, as the box's own CLI would. */
  async function startOnBox(name: string): Promise<LineClient> {
    const task = box.makeTask(name, { script: ECHO_SCRIPT });
    const local = await LineClient.unix(setup.socket);
    await local.hello;
    await local.ok('start_loop', {
      task_dir: name,
      agent: 'custom',
      agent_command: task.agentCmd,
      max_iterations: 1,
    });
    return local;
  }

  function laptopRows(): SessionRecord[] {
    return laptop().sessions();
  }

  it('adds the remote and tests it step by step', async () => {
    await ok(['remote', 'add', 'box', '--identity', net.identities.client.file, '--service', service]);
    await ok(['remote', 'add', 'dead', '--identity', net.identities.client.file, '--service', unbound]);
    const out = await ok(['remote', 'test', 'box']);
    console.log(`[remote test]\n${out}`);
    for (const step of ['login', 'dial', 'hello', 'authenticate', 'get_health']) {
      expect(out).toMatch(new RegExp(`^${step}\\s+\\d+\\.\\d ms$`, 'm'));
    }
    expect(out).toContain(`service ${service}`);
    expect(out).toContain(`you are ${(await loadIdentity(net.identities.client.file)).name} (control)`);
    const dead = await laptop().ralph(['remote', 'test', 'dead', '--timeout', '4s']);
    expect(dead.exitCode).not.toBe(0);
    expect(dead.stderr).toMatch(/cannot reach remote dead|remote dead/);
  });

  it('starts a loop on the remote and lists it with one started elsewhere, while an unbound remote is unreachable', async () => {
    const echo = box.makeTask('echo-task', { script: ECHO_SCRIPT });
    const started = JSON.parse(
      await ok([
        'remote',
        'start-loop',
        'box',
        'echo-task',
        '--agent',
        'custom',
        '--agent-command',
        echo.agentCmd,
        '--max-iterations',
        '1',
        '--json',
      ]),
    ) as SessionRecord;
    expect(started).toMatchObject({
      task: 'echo-task',
      location: 'remote',
      transport: 'ziti',
      address: service,
      identity: net.identities.client.file,
      remoteName: 'box',
    });

    // A loop started on the box through the daemon's own socket, which the laptop never saw.
    (await startOnBox('other-task')).close();
    // A run the laptop remembers that the daemon does not know.
    const registry = Registry.open(laptop().paths.registryFile);
    let ghost: SessionRecord;
    try {
      ghost = registry.create({
        task: 'ghost-task',
        location: 'remote',
        transport: 'ziti',
        address: service,
        identity: net.identities.client.file,
        remoteName: 'box',
        agent: 'claude',
        taskDir: 'ghost-task',
        maxIterations: 3,
        status: 'running',
      });
    } finally {
      registry.close();
    }

    const { json, ms } = await status();
    console.log(
      `[status] reachable box + unbound dead: ${ms.toFixed(0)} ms; ` +
        json.remotes.map((r) => `${r.name} ${r.ms} ms ${r.reachable ? 'ok' : r.error}`).join('; '),
    );
    expect(json.remotes.map((r) => [r.name, r.reachable])).toEqual([
      ['box', true],
      ['dead', false],
    ]);
    const row = (task: string): SessionRecord | undefined => json.sessions.find((s) => s.task === task);
    expect(row('echo-task')).toMatchObject({ remoteName: 'box', status: 'running' });
    expect(row('echo-task')?.startedAt).not.toBeNull();
    expect(row('other-task')).toMatchObject({
      remoteName: 'box',
      location: 'remote',
      transport: 'ziti',
      address: service,
      identity: net.identities.client.file,
    });
    expect(json.reconciled.added).toEqual([row('other-task')!.id]);
    expect(row('ghost-task')).toMatchObject({ id: ghost!.id, status: 'lost' });
    expect(json.reconciled.lost).toEqual([ghost!.id]);
    // A second status adds nothing new.
    const again = await status();
    expect(again.json.reconciled.added).toEqual([]);
    expect(laptopRows().filter((s) => s.task === 'other-task')).toHaveLength(1);

    // The same task name on this machine makes the bare name ambiguous; the address picks one.
    const reg = Registry.open(laptop().paths.registryFile);
    try {
      reg.create({
        task: 'other-task',
        location: 'local',
        transport: 'unix',
        address: join(laptop().root, 'x.sock'),
        agent: 'claude',
        taskDir: join(laptop().root, 'other-task'),
        maxIterations: 1,
        status: 'running',
        pid: 999_999_999,
      });
    } finally {
      reg.close();
    }
    const ambiguous = await laptop().ralph(['peek', 'other-task']);
    expect(ambiguous.exitCode).toBe(2);
    expect(ambiguous.stderr).toContain('2 loops are named other-task');
    const peek = await ok(['peek', 'box:other-task']);
    expect(peek).toContain('ECHO:READY');
    expect(await ok(['inject', 'box:other-task', 'mind the tests'])).toContain(
      'queued for the next iteration',
    );
    const one = JSON.parse(await ok(['status', 'box:other-task', '--json'])) as StatusJson;
    expect(one.sessions.map((x) => [x.remoteName, x.task])).toEqual([['box', 'other-task']]);
  });

  it('attaches over the overlay with keys echoed, reads its logs, and stops it', async () => {
    const term = laptop().term(['attach', 'box:echo-task', '-i', '--from', 'start'], { cols: 100, rows: 30 });
    await term.waitFor('ECHO:READY', 'replay over the overlay', { timeoutMs: 30_000 });
    await term.waitFor('you have the keyboard', 'the keyboard');
    term.write('zz');
    await term.waitFor('ECHO:"zz"', 'keys echoed over the overlay');
    term.write('\x1dd');
    const exit = await term.exited('attach to detach');
    expect(exit.exitCode).toBe(0);

    const logs = await ok(['logs', 'box:echo-task']);
    expect(logs).toContain('AGENT-START');
    expect(logs).toContain('ECHO:"zz"');

    const stopped = await ok(['stop', 'box:echo-task', '--json']);
    expect(JSON.parse(stopped)).toMatchObject({ task: 'echo-task', remoteName: 'box', status: 'stopped' });
    const { json } = await status();
    expect(json.sessions.find((s) => s.task === 'echo-task')?.status).toBe('stopped');
    const waited = await laptop().ralph(['wait', 'box:echo-task', '--timeout', '20s']);
    expect(waited.exitCode, waited.stderr).toBe(12);
  });

  it('keeps an attach going through a daemon killed and restarted, with no gap in the bytes', async () => {
    const task = box.makeTask('survivor', { script: ECHO_SCRIPT });
    await ok([
      'remote',
      'start-loop',
      'box',
      'survivor',
      '--agent',
      'custom',
      '--agent-command',
      task.agentCmd,
      '--max-iterations',
      '1',
    ]);
    const paths = ralphPaths({ RALPH_HOME: laptop().home });
    const attach = await AttachSession.open(
      'box:survivor',
      { from: 'start', reconnectDelaysMs: [250, 500, 1000, 2000, 2000, 2000, 2000, 2000, 2000, 2000] },
      paths,
    );
    const chunks: Buffer[] = [];
    const events: string[] = [];
    attach.on('data', (data) => chunks.push(data));
    attach.on('reconnecting', (r) => events.push(`reconnecting ${r.attempt}: ${r.reason}`));
    attach.on('reconnected', (r) => events.push(`reconnected at ${r.offset}`));
    const text = (): string => Buffer.concat(chunks).toString('utf8');
    await waitFor(() => text().includes('ECHO:READY'), 'the echo to be ready', 30_000);
    expect(await attach.setInteractive(true)).toBe(true);
    attach.type('before');
    await waitFor(() => text().includes('ECHO:"before"'), 'keys before the kill');

    const killedAt = performance.now();
    await daemon.stop('SIGKILL');
    await waitFor(
      () => events.some((e) => e.startsWith('reconnecting')),
      'the attach to notice the drop',
      20_000,
    );
    daemon = await startDaemonProcess(box, setup, []);
    await waitFor(() => events.some((e) => e.startsWith('reconnected')), 'the attach to reconnect', 60_000);
    console.log(
      `[attach] back ${(performance.now() - killedAt).toFixed(0)} ms after the daemon was killed: ${events.join(' | ')}`,
    );
    expect(await attach.setInteractive(true)).toBe(true);
    attach.type('after');
    await waitFor(() => text().includes('ECHO:"after"'), 'keys after the reconnect');

    // Every byte once, in order: once the agent is idle, what the attach received is the runner's whole log.
    const logFile = join(box.sessionDir(box.session('survivor')), 'output.log');
    const received = (): Buffer => Buffer.concat(chunks);
    await waitFor(
      () => received().length === readFileSync(logFile).length,
      'the attach to catch up with the log',
      10_000,
    );
    const hash = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    console.log(`[attach] received ${received().length} bytes = the log's ${readFileSync(logFile).length}`);
    expect(hash(received())).toBe(hash(readFileSync(logFile)));
    await attach.detach();
    // The remote answers again: its rows recover.
    const back = await status();
    expect(back.json.sessions.find((s) => s.task === 'survivor')?.status).toBe('running');
  });

  it('shows remote loops live in the fleet over one daemon connection, including ones started elsewhere', async () => {
    const fleet = new Fleet({ paths: ralphPaths({ RALPH_HOME: laptop().home }), pollMs: 100 });
    try {
      await fleet.start();
      const row = (task: string): FleetRow | undefined =>
        fleet.rows().find((r) => r.task === task && r.location === 'box');
      await waitFor(() => row('survivor')?.link.state === 'live', 'the remote link to be live', 30_000);
      expect(row('survivor')?.status).toBe('running');
      expect(row('echo-task')?.status).toBe('stopped');

      const local = await startOnBox('fleet-new');
      try {
        await waitFor(
          () => row('fleet-new')?.status === 'running',
          'a loop started on the box to show up',
          20_000,
        );
        await local.ok('stop_loop', { task: 'fleet-new' });
      } finally {
        local.close();
      }
      await waitFor(() => row('fleet-new')?.status === 'stopped', 'its end to show up', 20_000);

      // The TUI's `n` on a remote starts the loop through that remote's daemon.
      box.makeTask('tui-started');
      const dispatched: TuiAction[] = [];
      const actions = makeActions({
        fleet,
        dispatch: (a) => dispatched.push(a),
        handoff: () => undefined,
        exit: () => undefined,
      });
      await actions.start({ folder: 'tui-started', agent: 'demo', location: 'box' });
      expect(dispatched).toContainEqual({ type: 'select', key: 'box/tui-started' });
      expect(dispatched).toContainEqual({
        type: 'notice',
        notice: { kind: 'info', text: 'started box:tui-started' },
      });
      await waitFor(
        () => row('tui-started') !== undefined,
        'the loop started from the TUI to show up',
        20_000,
      );
    } finally {
      fleet.close();
    }
  });

  it('gives up reconnecting after its last attempt when the remote stays away', async () => {
    const task = box.makeTask('capped', { script: ECHO_SCRIPT });
    await ok([
      'remote',
      'start-loop',
      'box',
      'capped',
      '--agent',
      'custom',
      '--agent-command',
      task.agentCmd,
    ]);
    const paths = ralphPaths({ RALPH_HOME: laptop().home });
    const attach = await AttachSession.open('box:capped', { reconnectDelaysMs: [100, 200, 300] }, paths);
    const attempts: number[] = [];
    attach.on('reconnecting', (r) => attempts.push(r.attempt));
    const ended = new Promise<AttachEnd>((resolve) => attach.once('end', resolve));
    await daemon.stop('SIGKILL'); // and not started again: the last test of the file
    const end = await ended;
    console.log(`[attach] gave up: ${end.kind === 'lost' ? end.reason : end.kind}`);
    expect(attempts).toEqual([1, 2, 3]);
    expect(end).toMatchObject({ kind: 'lost' });
    expect(end.kind === 'lost' && end.reason).toMatch(/gave up after 3 reconnect attempts/);
  });
});
