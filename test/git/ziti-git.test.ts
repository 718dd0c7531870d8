/**
 * git over the overlay, the way a user runs it: the built `ralph daemon` binds a service of a real OpenZiti test
 * network, the laptop's remotes config names it, and `git push` / `git clone` of `ralph::<remote>/<project>`
 * go through `git-remote-ralph`'s production connector (DaemonClient: dial, greeting, identity proof) with no
 * socket override. Skipped with the usual notice without the ziti CLI.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ralphPaths } from '../../src/config/paths.js';
import { loadIdentity } from '../../src/ziti/identity.js';
import { useCliSandbox } from '../cli/harness.js';
import { startDaemonProcess, writeDaemonConfig, type DaemonProcess } from '../daemon/harness.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../ziti/network.js';
import { gitRunner, helperBinDir, gitOk } from './harness.js';

describe.skipIf(!zitiTestsEnabled())('git over the overlay through git-remote-ralph', () => {
  const sandbox = useCliSandbox();
  let net: TestNetwork;
  let daemon: DaemonProcess;
  let workspace: string;
  let root: string;
  let git: ReturnType<typeof gitRunner>;

  beforeAll(async () => {
    net = await acquireTestNetwork();
    const setup = writeDaemonConfig(sandbox(), {
      identity: net.identities.server.file,
      service: net.services.plain,
      // The daemon knows callers by their certificate's CN, the identity's id.
      roles: { [(await loadIdentity(net.identities.client.file)).name]: 'control' },
    });
    workspace = setup.workspace;
    daemon = await startDaemonProcess(sandbox(), setup, []);
    root = join(sandbox().root, 'laptop-side');
    mkdirSync(root, { recursive: true });
    git = gitRunner(root, helperBinDir(root), {}, 25_000);
    const laptopPaths = ralphPaths({ RALPH_HOME: join(root, 'ralph-home') });
    mkdirSync(laptopPaths.configDir, { recursive: true, mode: 0o700 });
    const remotes = {
      remotes: { vps: { identity: net.identities.client.file, service: net.services.plain } },
    };
    writeFileSync(join(laptopPaths.configDir, 'remotes.json'), JSON.stringify(remotes), { mode: 0o600 });
  });

  afterAll(async () => {
    await daemon?.stop('SIGTERM');
    await net?.stop();
  });

  const ok = (cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> =>
    gitOk(git, cwd, args, env);

  it('pushes and clones over the Ziti service; hashes match', async () => {
    const laptop = join(root, 'repo');
    await ok(root, ['init', '-q', '-b', 'main', laptop]);
    writeFileSync(join(laptop, 'a.txt'), 'over the overlay\n');
    await ok(laptop, ['add', 'a.txt']);
    await ok(laptop, ['commit', '-q', '-m', 'first']);
    const head = await ok(laptop, ['rev-parse', 'HEAD']);

    const started = performance.now();
    await ok(laptop, ['push', '-q', 'ralph::vps/app', 'main']);
    const pushMs = performance.now() - started;
    expect(await ok(join(workspace, 'repos', 'app.git'), ['rev-parse', 'main'])).toBe(head);

    const clone = join(root, 'clone');
    const cloneStart = performance.now();
    await ok(root, ['clone', '-q', 'ralph::vps/app', clone]);
    const cloneMs = performance.now() - cloneStart;
    expect(await ok(clone, ['rev-parse', 'HEAD'])).toBe(head);
    console.log(`over Ziti: push ${pushMs.toFixed(0)} ms, clone ${cloneMs.toFixed(0)} ms (login included)`);

    // A remote this laptop does not know is one line, before any dial.
    const unknown = await git(laptop, ['ls-remote', 'ralph::elsewhere/app']);
    expect(unknown.exitCode).not.toBe(0);
    expect(String(unknown.stderr)).toMatch(/^ralph: no remote named "elsewhere"/m);
  });
});
