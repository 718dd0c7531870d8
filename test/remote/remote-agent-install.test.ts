/**
 * Agent installs seen from the laptop, over a real OpenZiti test network: `ralph remote start-loop --agent X`
 * with X missing on the box installs it there from its package (a fixture tarball named by the box daemon's
 * RALPH_AGENT_PACKAGES) and shows npm's lines on stderr; `--no-install` fails with the available agents.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeZitiContexts } from '../../src/client/remote/daemon-client.js';
import { loadIdentity } from '../../src/ziti/identity.js';
import { CliSandbox, useCliSandbox, waitFor } from '../cli/harness.js';
import { ensureCliBuilt } from '../cli/built.js';
import { agentTarball } from '../daemon/agent-package.js';
import {
  startDaemonProcess,
  writeDaemonConfig,
  type DaemonProcess,
  createDaemonService,
} from '../daemon/harness.js';
import { uniqueName } from '../ziti/e2e/helpers.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../ziti/network.js';

describe.skipIf(!zitiTestsEnabled())('installing a missing agent on a remote box, from the laptop', () => {
  const laptop = useCliSandbox();
  let box: CliSandbox;
  let net: TestNetwork;
  let daemon: DaemonProcess;
  const service = uniqueName('ralph-agents');

  beforeAll(async () => {
    await ensureCliBuilt();
    net = await acquireTestNetwork();
    await createDaemonService(net, service);
    box = new CliSandbox();
    const fixtures = join(box.root, 'packages');
    mkdirSync(fixtures);
    const setup = writeDaemonConfig(box, {
      identity: net.identities.server.file,
      service,
      roles: { [(await loadIdentity(net.identities.client.file)).name]: 'control' },
    });
    daemon = await startDaemonProcess(box, setup, [], {
      RALPH_AGENT_PACKAGES: JSON.stringify({
        amp: await agentTarball(fixtures, 'fixture-amp', 'amp'),
        opencode: await agentTarball(fixtures, 'fixture-opencode', 'opencode'),
      }),
      npm_config_cache: join(box.root, 'npm-cache'),
      npm_config_registry: 'http://127.0.0.1:9/',
      npm_config_update_notifier: 'false',
    });
    const added = await laptop().ralph([
      'remote',
      'add',
      'box',
      '--identity',
      net.identities.client.file,
      '--service',
      service,
    ]);
    expect(added.exitCode).toBe(0);
  });

  afterAll(async () => {
    await closeZitiContexts();
    await daemon?.stop('SIGTERM');
    await box?.dispose();
    if (net !== undefined) {
      await net.ziti(['edge', 'delete', 'service', service]).catch(() => undefined);
      await net.stop();
    }
  });

  it('start-loop --agent amp installs amp on the box, shows the progress on stderr, and the loop runs it', async () => {
    const task = box.makeTask('remote-amp');
    const started = performance.now();
    const result = await laptop().ralph(
      ['remote', 'start-loop', 'box', 'remote-amp', '--agent', 'amp', '--max-iterations', '1'],
      { timeoutMs: 120_000 },
    );
    console.log(`[start-loop with install] ${(performance.now() - started).toFixed(0)} ms\n${result.stderr}`);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/amp: fixture-agent install step 1\/3/);
    expect(result.stderr).toMatch(/amp: fixture-agent install step 3\/3/);
    expect(result.stdout).toContain('box:remote-amp');
    await waitFor(() => existsSync(join(task.dir, 'agent-ran.json')), 'the installed amp to run', 30_000);
  });

  it('start-loop --no-install with a missing agent fails with the agents the box has', async () => {
    box.makeTask('remote-none');
    const result = await laptop().ralph(
      ['remote', 'start-loop', 'box', 'remote-none', '--agent', 'opencode', '--no-install'],
      { timeoutMs: 60_000 },
    );
    console.log(`[start-loop --no-install] exit ${result.exitCode}: ${result.stderr}`);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/agent 'opencode' is not installed on this box/);
    expect(result.stderr).toMatch(/available agents: .*amp.*demo|available agents: .*demo/);
    expect(result.stderr).not.toMatch(/install step|unexpected error|\n\s+at /);
    expect(result.stderr).toMatch(/leave out --no-install/);
  });
});
