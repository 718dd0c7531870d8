/**
 * Runners that outlive the daemon's unit: under systemd (`$INVOCATION_ID` set and `systemd-run` on PATH) each
 * runner is started in its own transient user unit, so restarting or stopping the daemon's unit leaves it
 * running; elsewhere it is started detached, as `ralph start` does.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNNER_ENTRY, spawnDetachedRunner, type RunnerSpawner, type RunnerWatch } from '../client/start.js';
import { findOnPath } from '../loop/agents/index.js';

/** Variables systemd sets for the daemon's own unit; a runner's unit gets its own. */
const UNIT_VARIABLES = new Set([
  'INVOCATION_ID',
  'JOURNAL_STREAM',
  'NOTIFY_SOCKET',
  'LISTEN_PID',
  'LISTEN_FDS',
  'LISTEN_FDNAMES',
  'SYSTEMD_EXEC_PID',
  'MANAGERPID',
  'WATCHDOG_PID',
  'WATCHDOG_USEC',
]);

/** How runners are started in this environment. */
export function runnerSpawner(env: NodeJS.ProcessEnv = process.env): RunnerSpawner {
  if (!env.INVOCATION_ID) return spawnDetachedRunner;
  const systemdRun = findOnPath('systemd-run', env);
  if (systemdRun === null) return spawnDetachedRunner;
  return (prepared, logFile) => {
    const envFile = join(prepared.launch.dir, 'runner.env');
    writeFileSync(envFile, environmentFile(env), { mode: 0o600 });
    const args = systemdRunArgs({
      unit: `ralph-loop-${prepared.session.task}-${prepared.session.id}`,
      envFile,
      logFile,
      command: [process.execPath, RUNNER_ENTRY, prepared.launchFile],
    });
    const watch: RunnerWatch = { exited: null };
    const child = spawn(systemdRun, args, { stdio: 'ignore' });
    child.once('error', (err) => (watch.exited = `systemd-run failed: ${err.message}`));
    // systemd-run returns once the unit has started; only its failure says anything about the runner.
    child.once('exit', (code, signal) => {
      if (code !== 0)
        watch.exited = `systemd-run failed (${signal ? `signal ${signal}` : `exit code ${code}`})`;
    });
    return watch;
  };
}

export interface SystemdRunInput {
  unit: string;
  envFile: string;
  logFile: string;
  command: string[];
}

/** The `systemd-run` arguments that start one runner in its own transient user unit. */
export function systemdRunArgs(input: SystemdRunInput): string[] {
  return [
    '--user',
    '--collect',
    '--quiet',
    `--unit=${input.unit}`,
    `--property=EnvironmentFile=${input.envFile}`,
    `--property=StandardOutput=append:${input.logFile}`,
    `--property=StandardError=append:${input.logFile}`,
    '--property=UMask=0077',
    '--',
    ...input.command,
  ];
}

/**
 * The daemon's environment as a systemd EnvironmentFile (so the agents' keys never appear on a command
 * line): one `NAME="value"` per line, backslashes and quotes escaped. Values with a newline are left out.
 */
export function environmentFile(env: NodeJS.ProcessEnv): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || UNIT_VARIABLES.has(name) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
    if (/[\n\r]/.test(value)) continue;
    lines.push(`${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  }
  return lines.join('\n') + '\n';
}
