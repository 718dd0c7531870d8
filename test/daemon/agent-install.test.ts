/**
 * Agents on the box, through the built daemon over its Unix socket: `get_agents` lists every agent with its
 * package; a start with a missing agent installs it from its package (here a fixture tarball named by
 * RALPH_AGENT_PACKAGES, so no registry is involved) into `<dataDir>/agents`, streaming npm's lines to the
 * caller, and the runner then finds it there; `no_install` refuses with the available agents; a broken
 * package fails with npm's last lines and the available agents; two starts at once install once.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCliSandbox, waitFor } from '../cli/harness.js';
import { agentTarball, brokenTarball } from './agent-package.js';
import {
  LineClient,
  startDaemonProcess,
  writeDaemonConfig,
  type DaemonProcess,
  type DaemonSetup,
} from './harness.js';

interface AgentRow {
  name: string;
  available: boolean;
  path: string | null;
  version: string | null;
  package: string | null;
}

interface InstallLine {
  agent: string;
  line: string;
}

function installLines(client: LineClient, agent: string): string[] {
  return client.notifications
    .filter((n) => n.method === 'agent_install' && (n.params as InstallLine).agent === agent)
    .map((n) => (n.params as InstallLine).line);
}

describe('agents on the box: listing and installing a missing one', () => {
  const sandbox = useCliSandbox();
  let setup: DaemonSetup;
  let daemon: DaemonProcess;
  let packages: Record<string, string>;
  let installLog: string;
  let binDir: string;

  beforeAll(async () => {
    const box = sandbox();
    const fixtures = join(box.root, 'packages');
    mkdirSync(fixtures);
    packages = {
      amp: await agentTarball(fixtures, 'fixture-amp', 'amp'),
      codex: await agentTarball(fixtures, 'fixture-codex', 'codex'),
      opencode: await agentTarball(fixtures, 'fixture-opencode', 'opencode'),
      gemini: brokenTarball(fixtures, 'fixture-gemini'),
    };
    installLog = join(box.root, 'installs.log');
    binDir = join(box.paths.dataDir, 'agents', 'node_modules', '.bin');
    setup = writeDaemonConfig(box);
    daemon = await startDaemonProcess(box, setup, ['--no-ziti'], {
      RALPH_AGENT_PACKAGES: JSON.stringify(packages),
      FIXTURE_INSTALL_LOG: installLog,
      FIXTURE_INSTALL_DELAY_MS: '1500',
      // npm stays off the network: its cache is the sandbox's, and its registry a closed local port.
      npm_config_cache: join(box.root, 'npm-cache'),
      npm_config_registry: 'http://127.0.0.1:9/',
      npm_config_update_notifier: 'false',
    });
  });

  async function client(): Promise<LineClient> {
    const c = await LineClient.unix(daemon.socket);
    await c.hello;
    return c;
  }

  it('get_agents lists every known agent with its package; the fixture agents start missing', async () => {
    const c = await client();
    const { agents } = await c.ok<{ agents: AgentRow[] }>('get_agents');
    expect(agents.map((a) => a.name).sort()).toEqual([
      'amp',
      'claude',
      'codex',
      'demo',
      'gemini',
      'opencode',
    ]);
    expect(agents.find((a) => a.name === 'claude')!.package).toBe('@anthropic-ai/claude-code');
    expect(agents.find((a) => a.name === 'demo')).toMatchObject({ available: true, package: null });
    for (const name of Object.keys(packages)) {
      expect(agents.find((a) => a.name === name)).toMatchObject({
        available: false,
        package: packages[name],
      });
    }
    c.close();
  });

  it('installs a missing agent from its package, streams the progress, and the runner finds it', async () => {
    const task = sandbox().makeTask('with-amp');
    const c = await client();
    const started = await c.ok<{ task: string; status: string }>(
      'start_loop',
      { task_dir: task.name, agent: 'amp', max_iterations: 1 },
      120_000,
    );
    expect(started.task).toBe('with-amp');
    const lines = installLines(c, 'amp');
    console.log(`amp install: ${lines.length} progress lines:\n  ${lines.join('\n  ')}`);
    expect(lines).toContain('fixture-agent install step 1/3');
    expect(lines).toContain('fixture-agent install step 3/3');
    expect(lines.every((l) => l.length <= 300)).toBe(true);
    const ran = await waitFor(
      () =>
        existsSync(join(task.dir, 'agent-ran.json'))
          ? readFileSync(join(task.dir, 'agent-ran.json'), 'utf8')
          : undefined,
      'the installed amp to run in the loop',
      30_000,
    );
    expect(JSON.parse(ran)).toMatchObject({ name: 'amp' });
    expect(JSON.parse(ran).args).toContain('--execute');

    const { agents } = await c.ok<{ agents: AgentRow[] }>('get_agents');
    expect(agents.find((a) => a.name === 'amp')).toMatchObject({
      available: true,
      path: join(binDir, 'amp'),
      version: '1.0.0',
    });
    c.close();
  });

  it('with no_install, a missing agent is refused with the available agents, and nothing is installed', async () => {
    sandbox().makeTask('no-install');
    const c = await client();
    const answer = await c.call('start_loop', {
      task_dir: 'no-install',
      agent: 'opencode',
      no_install: true,
    });
    expect(answer.error).toMatchObject({ code: -32001, data: { agent: 'opencode' } });
    const data = answer.error!.data as { available: string[] };
    expect(data.available).toContain('demo');
    expect(data.available).not.toContain('opencode');
    expect(answer.error!.message).toMatch(/agent 'opencode' is not installed.*available agents: .*demo/);
    expect(installLines(c, 'opencode')).toEqual([]);
    expect(existsSync(join(binDir, 'opencode'))).toBe(false);
    c.close();
  });

  it("a failing install answers with npm's last lines and the available agents; the daemon keeps serving", async () => {
    sandbox().makeTask('broken');
    const c = await client();
    const answer = await c.call('start_loop', { task_dir: 'broken', agent: 'gemini' }, 120_000);
    expect(answer.error).toMatchObject({ code: -32001, data: { agent: 'gemini', package: packages.gemini } });
    const data = answer.error!.data as { available: string[]; install_output: string[] };
    console.log(`broken install: ${answer.error!.message}\n  ${data.install_output.join('\n  ')}`);
    expect(answer.error!.message).toMatch(
      /installing agent 'gemini' from .* failed: npm install .* failed \(exit code/,
    );
    expect(answer.error!.message).toMatch(/available agents: .*demo/);
    expect(data.install_output.length).toBeGreaterThan(0);
    expect(data.install_output.length).toBeLessThanOrEqual(20);
    expect(data.available).not.toContain('gemini');
    expect(installLines(c, 'gemini').length).toBeGreaterThan(0);
    expect(await c.ok('get_health')).toMatchObject({ service: 'ralph-test' });
    c.close();
  });

  it('refuses a start that cannot go ahead before installing anything', async () => {
    const c = await client();
    const escape = await c.call('start_loop', { task_dir: '../outside', agent: 'opencode' }, 60_000);
    expect(escape.error?.code).toBe(-32602);
    expect(escape.error?.message).toContain("must not contain '..'");
    const missing = await c.call('start_loop', { task_dir: 'no-such-task', agent: 'opencode' }, 60_000);
    expect(missing.error).toBeDefined();
    const noProject = await c.call(
      'start_loop',
      { project: 'never-pushed', branch: 'main', task_path: 'tasks/x', agent: 'opencode' },
      60_000,
    );
    expect(noProject.error).toMatchObject({ code: 1020, data: { project: 'never-pushed' } });
    expect(installLines(c, 'opencode')).toEqual([]);
    expect(existsSync(join(binDir, 'opencode'))).toBe(false);
    const installed = existsSync(installLog) ? readFileSync(installLog, 'utf8').split('\n') : [];
    expect(installed).not.toContain('fixture-opencode');
    expect(await c.ok('get_health')).toMatchObject({ service: 'ralph-test' });
    c.close();
  });

  it('two starts at once with the same missing agent install it once, and both start', async () => {
    sandbox().makeTask('pair-1');
    sandbox().makeTask('pair-2');
    const [a, b] = [await client(), await client()];
    const params = (name: string) => ({ task_dir: name, agent: 'codex', max_iterations: 1 });
    const [ra, rb] = await Promise.all([
      a.call('start_loop', params('pair-1'), 120_000),
      b.call('start_loop', params('pair-2'), 120_000),
    ]);
    expect(ra.error).toBeUndefined();
    expect(rb.error).toBeUndefined();
    const installs = readFileSync(installLog, 'utf8')
      .split('\n')
      .filter((l) => l === 'fixture-codex');
    expect(installs).toHaveLength(1);
    console.log(
      `concurrent starts: progress lines seen by the first ${installLines(a, 'codex').length}, the second ${installLines(b, 'codex').length}`,
    );
    expect(installLines(a, 'codex').length + installLines(b, 'codex').length).toBeGreaterThan(0);
    a.close();
    b.close();
  });
});
