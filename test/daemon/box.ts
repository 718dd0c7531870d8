/**
 * The acceptance setting of the remote daemon: "the box" is a network namespace whose only route is a veth to
 * the root namespace, where a private OpenZiti network (controller and edge router) listens on the veth's
 * root-side address. The box runs the built `ralph daemon` with its own RALPH_HOME (a CLI sandbox); "the
 * laptop" is another CLI sandbox in the root namespace with the box configured as a remote. Every wait is
 * bounded; teardown ends only the processes started here (everything in the namespace is ours).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { provisionDaemon } from '../../scripts/ziti-testnet/daemon-box.mjs';
import { CLI_MAIN } from '../cli/built.js';
import { CliSandbox } from '../cli/harness.js';
import { createNetns, type Netns } from '../support/netns.js';
import { waitFor } from '../support/wait.js';
import { startTestNetwork, type TestNetwork } from '../ziti/network.js';

export const REMOTE = 'box';

export interface BoxDaemon {
  child: ChildProcess;
  pid: number;
  log: string[];
  /** Sends `signal` and waits (bounded) for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface Box {
  ns: Netns;
  net: TestNetwork;
  /** The box's RALPH_HOME and workspace (`<root>/tasks`). */
  box: CliSandbox;
  /** The laptop's RALPH_HOME, with the box configured as remote `box`. */
  laptop: CliSandbox;
  service: string;
  configFile: string;
  /** The daemon now running (replaced by startDaemon()). */
  daemon: BoxDaemon | null;
  startDaemon(): Promise<BoxDaemon>;
  /** Waits until `ralph remote test box` succeeds from the laptop. */
  waitReachable(what: string, timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

export async function createBox(): Promise<Box> {
  const ns = createNetns();
  let net: TestNetwork | undefined;
  const box = new CliSandbox();
  const laptop = new CliSandbox();
  try {
    net = await startTestNetwork({ host: ns.hostAddress, timeoutMs: 180_000 });
    const service = `ralph-box-${process.pid}`;
    const configFile = join(box.root, 'daemon.jsonc');
    mkdirSync(join(box.root, 'tasks'), { recursive: true });
    await provisionDaemon(net, { service, workspace: join(box.root, 'tasks'), configFile, maxLoops: 60 });
    const added = await laptop.ralph([
      'remote',
      'add',
      REMOTE,
      '--identity',
      net.identities.client.file,
      '--service',
      service,
    ]);
    if (added.exitCode !== 0) throw new Error(`ralph remote add failed:\n${added.stdout}${added.stderr}`);

    const network = net;
    const result: Box = {
      ns,
      net: network,
      box,
      laptop,
      service,
      configFile,
      daemon: null,
      async startDaemon() {
        const child = ns.spawn(process.execPath, [CLI_MAIN, 'daemon', '--config', configFile], {
          env: box.env,
          cwd: box.root,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        const log: string[] = [];
        let partial = '';
        child.stderr?.on('data', (chunk: Buffer) => {
          partial += chunk.toString();
          const lines = partial.split('\n');
          partial = lines.pop() ?? '';
          log.push(...lines);
        });
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        const daemon: BoxDaemon = {
          child,
          pid: child.pid as number,
          log,
          async stop(signal = 'SIGTERM') {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill(signal);
            await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
          },
        };
        result.daemon = daemon;
        await waitFor(
          () => log.some((l) => l.includes('daemon listening')) || child.exitCode !== null,
          'the daemon in the namespace to listen',
          60_000,
        );
        if (child.exitCode !== null)
          throw new Error(`the daemon exited ${child.exitCode}:\n${log.join('\n')}`);
        return daemon;
      },
      async waitReachable(what, timeoutMs = 90_000) {
        let last = '';
        await waitFor(
          async () => {
            const r = await laptop.ralph(['remote', 'test', REMOTE], { timeoutMs: 20_000 });
            last = `${r.stdout}${r.stderr}`;
            return r.exitCode === 0;
          },
          `${what} (last: ${last.trim().slice(-500)})`,
          timeoutMs,
        );
      },
      async destroy() {
        await result.daemon?.stop('SIGKILL');
        await ns.destroy();
        await laptop.dispose();
        await box.dispose();
        await network.stop();
      },
    };
    return result;
  } catch (err) {
    await ns.destroy();
    await laptop.dispose();
    await box.dispose();
    await net?.stop();
    throw err;
  }
}
