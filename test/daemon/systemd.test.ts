/**
 * Under systemd the daemon starts each runner with `systemd-run --user --collect` in a unit of its own. No user
 * service manager runs here, so a stand-in `systemd-run` (a tiny shell program first on PATH) records its
 * arguments and starts the command detached, as the transient unit would; the loop must then run and answer
 * through the daemon, and the agents' secrets must travel in the 0600 environment file, never on a command line.
 */
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnDetachedRunner } from '../../src/client/start.js';
import { environmentFile, runnerSpawner, systemdRunArgs } from '../../src/daemon/systemd.js';
import { useCliSandbox, waitFor } from '../cli/harness.js';
import { LineClient, startDaemonProcess, writeDaemonConfig } from './harness.js';

const SHIM = `#!/bin/sh
printf '%s\\n' "$@" > "$SYSTEMD_RUN_LOG"
out=/dev/null
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  case "$1" in --property=StandardOutput=append:*) out="\${1#--property=StandardOutput=append:}" ;; esac
  shift
done
shift
setsid "$@" >>"$out" 2>&1 </dev/null &
exit 0
`;

describe('runners under systemd', () => {
  const sandbox = useCliSandbox();

  it('uses systemd-run only with $INVOCATION_ID set and systemd-run on PATH', () => {
    const bin = join(sandbox().root, 'no-systemd');
    mkdirSync(bin, { recursive: true });
    expect(runnerSpawner({ PATH: bin })).toBe(spawnDetachedRunner);
    expect(runnerSpawner({ PATH: bin, INVOCATION_ID: 'abc' })).toBe(spawnDetachedRunner);
    writeFileSync(join(bin, 'systemd-run'), SHIM);
    chmodSync(join(bin, 'systemd-run'), 0o755);
    expect(runnerSpawner({ PATH: bin })).toBe(spawnDetachedRunner);
    expect(runnerSpawner({ PATH: bin, INVOCATION_ID: 'abc' })).not.toBe(spawnDetachedRunner);
  });

  it('writes the environment as a systemd EnvironmentFile, escaping quotes and backslashes', () => {
    const text = environmentFile({
      API_KEY: 'sk-"quoted"\\x',
      INVOCATION_ID: 'unit-only',
      'BAD-NAME': 'x',
      MULTI: 'a\nb',
      PLAIN: 'v',
    });
    expect(text).toBe('API_KEY="sk-\\"quoted\\"\\\\x"\nPLAIN="v"\n');
    expect(
      systemdRunArgs({
        unit: 'ralph-loop-t-1',
        envFile: '/e',
        logFile: '/l',
        command: ['node', 'r.js', 'launch.json'],
      }),
    ).toEqual([
      '--user',
      '--collect',
      '--quiet',
      '--unit=ralph-loop-t-1',
      '--property=EnvironmentFile=/e',
      '--property=StandardOutput=append:/l',
      '--property=StandardError=append:/l',
      '--property=UMask=0077',
      '--',
      'node',
      'r.js',
      'launch.json',
    ]);
  });

  it('starts a loop through systemd-run in its own unit, keeping secrets off the command line', async () => {
    const bin = join(sandbox().root, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'systemd-run'), SHIM);
    chmodSync(join(bin, 'systemd-run'), 0o755);
    const argsLog = join(sandbox().root, 'systemd-run.args');
    const daemon = await startDaemonProcess(sandbox(), writeDaemonConfig(sandbox()), ['--no-ziti'], {
      INVOCATION_ID: '0123456789abcdef',
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      SYSTEMD_RUN_LOG: argsLog,
      AGENT_SECRET: 'secret-value-42',
    });
    const task = sandbox().makeTask('unit-task', { script: [{ print: 'IN-UNIT' }, { hang: true }] });
    const client = await LineClient.unix(daemon.socket);
    await client.hello;
    const started = await client.ok<{ loop_id: string; status: string }>('start_loop', {
      task_dir: 'unit-task',
      agent: 'custom',
      agent_command: task.agentCmd,
    });
    expect(started.status).toBe('running');
    const args = readFileSync(argsLog, 'utf8').trimEnd().split('\n');
    expect(args.slice(0, 4)).toEqual([
      '--user',
      '--collect',
      '--quiet',
      `--unit=ralph-loop-unit-task-${started.loop_id}`,
    ]);
    expect(args.join(' ')).not.toContain('secret-value-42');
    const envFile = args
      .find((a) => a.startsWith('--property=EnvironmentFile='))!
      .split('=')
      .slice(2)
      .join('=');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile, 'utf8')).toContain('AGENT_SECRET="secret-value-42"');
    expect(readFileSync(envFile, 'utf8')).not.toContain('INVOCATION_ID');

    await waitFor(async () => {
      const peek = await client.call('peek', { task: 'unit-task' });
      return JSON.stringify(peek.result ?? '').includes('IN-UNIT');
    }, 'the loop in its unit to answer through the daemon');
    expect(await client.ok('stop_loop', { task: 'unit-task', force: true })).toMatchObject({
      status: 'stopped',
    });
    client.close();
  });
});
