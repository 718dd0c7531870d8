/**
 * The body of a runner process: one loop, its socket and its registry row. `ralph start` launches it detached
 * (`ralph __runner <launch.json>`); `ralph start --foreground` runs it in the calling process.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ralphPaths, type RalphPaths } from '../config/paths.js';
import { errorMessage, isRalphError } from '../errors.js';
import { Registry } from '../registry/index.js';
import { listenUnix } from '../transport/unix.js';
import { processStartTime } from '../util/proc.js';
import { LoopServer } from './rpc/server.js';
import { LoopRunner } from './runner.js';
import { Notifier } from './notify.js';
import { writeStartFailure } from './start-failure.js';
import type { LoopConfig, LoopState } from './types.js';
import { isoTime } from '../util/clock.js';

export interface RunnerLaunch {
  sessionId: number;
  socketPath: string;
  dir: string;
  config: LoopConfig;
  /** The registry holding `sessionId`; the runner's own environment may name another one. */
  registryFile?: string;
}

export function writeLaunchFile(launch: RunnerLaunch): string {
  const file = join(launch.dir, 'launch.json');
  writeFileSync(file, JSON.stringify(launch, null, 2), { mode: 0o600 });
  return file;
}

export function readLaunchFile(file: string): RunnerLaunch {
  return JSON.parse(readFileSync(file, 'utf8')) as RunnerLaunch;
}

export interface RunnerHooks {
  /** Called once the socket is listening and the registry row says running. */
  onReady?: (runner: LoopRunner) => void;
  /** Diagnostics for the runner's log. */
  log?: (line: string) => void;
  /** Check every RPC result against the method table (tests turn it on). */
  validateResults?: boolean;
}

/**
 * A loop that never ran: its error is left for `ralph start` first (a start that sees the row ended looks for
 * it at once), then the row says why, and the registry is closed.
 */
function neverRan(registry: Registry, launch: RunnerLaunch, err: unknown, log: (line: string) => void): void {
  if (isRalphError(err)) {
    try {
      writeStartFailure(launch.dir, err);
    } catch (e) {
      log(`cannot leave the start error in ${launch.dir}: ${errorMessage(e)}`);
    }
  }
  try {
    registry.update(launch.sessionId, { status: 'failed', exitReason: errorMessage(err) });
  } finally {
    registry.close();
  }
}

export async function runLoopProcess(
  launch: RunnerLaunch,
  hooks: RunnerHooks = {},
  paths: RalphPaths = ralphPaths(),
): Promise<LoopState> {
  const log = hooks.log ?? (() => undefined);
  const registry = Registry.open(launch.registryFile ?? paths.registryFile);
  let runner: LoopRunner;
  try {
    runner = new LoopRunner(launch.config, launch.dir, { rateLimitDir: join(paths.dataDir, 'rate-limits') });
    runner.saveConfig();
  } catch (err) {
    // The loop never ran: say why in its registry row rather than leave it `starting`.
    log(`cannot run the loop: ${errorMessage(err)}`);
    neverRan(registry, launch, err, log);
    throw err;
  }
  const server = new LoopServer(runner, { log, validateResults: hooks.validateResults === true });
  let listener: Awaited<ReturnType<typeof listenUnix>>;
  try {
    listener = await listenUnix(launch.socketPath, (stream, info) =>
      server.accept(stream, info.label, info.peer),
    );
  } catch (err) {
    // Nobody could reach the loop (its socket path is taken, say): it never runs, and its row says why.
    log(`cannot listen on ${launch.socketPath}: ${errorMessage(err)}`);
    await server.close('loop not started');
    runner.close();
    neverRan(registry, launch, err, log);
    throw err;
  }

  const record = (patch: Parameters<Registry['update']>[1]): void => {
    try {
      registry.update(launch.sessionId, { ...patch, lastSeen: isoTime() });
    } catch (err) {
      log(`registry update failed: ${errorMessage(err)}`);
    }
  };
  runner.on('log', log);
  runner.on('state', (changed) => {
    const patch: Parameters<Registry['update']>[1] = {};
    if (changed.status !== undefined) patch.status = changed.status;
    if (changed.iteration !== undefined) patch.iteration = changed.iteration;
    if (changed.maxIterations !== undefined) patch.maxIterations = changed.maxIterations;
    if (changed.currentStory !== undefined) patch.currentStory = changed.currentStory;
    if (changed.exitReason !== undefined) patch.exitReason = changed.exitReason;
    if (changed.waitingUntil !== undefined) patch.waitingUntil = changed.waitingUntil;
    if (Object.keys(patch).length > 0) record(patch);
  });
  const notifier = new Notifier({
    notify: launch.config.notify,
    onEnd: launch.config.onEnd,
    sessionDir: launch.dir,
    log,
  });
  runner.on('attention', (event) => notifier.send(event, runner.state));

  const onSignal = (sig: NodeJS.Signals): void => {
    log(`received ${sig}; stopping the loop`);
    runner.stop(sig === 'SIGINT' && runner.state.status === 'stopping');
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => log('received SIGHUP; the loop keeps running'));

  record({
    pid: process.pid,
    pidStartTime: processStartTime(process.pid),
    status: 'running',
    startedAt: isoTime(),
    // Known from prd.json before the first iteration, so no state change will carry it.
    currentStory: runner.state.currentStory,
  });
  hooks.onReady?.(runner);
  const final = await runner.run();
  await recordEnd(
    registry,
    launch.sessionId,
    { status: final.status, exitReason: final.exitReason, iteration: final.iteration },
    log,
  );
  notifier.send('ended', final);
  await notifier.settled();
  await server.close('loop ended');
  await listener.close();
  runner.close();
  rmSync(launch.socketPath, { force: true });
  registry.close();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return final;
}

/** How long the runner keeps trying to write how its loop ended (the registry may share a full disk). */
export const END_RECORD_RETRY_MS = 60_000;

/**
 * Writes the loop's end into its row, retrying with growing pauses for up to END_RECORD_RETRY_MS: the registry
 * is often on the disk that just filled up, and a row left `running` would lose why the loop ended.
 */
async function recordEnd(
  registry: Registry,
  sessionId: number,
  patch: Parameters<Registry['update']>[1],
  log: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + END_RECORD_RETRY_MS;
  for (let pause = 100; ; pause = Math.min(pause * 2, 5000)) {
    try {
      registry.update(sessionId, { ...patch, lastSeen: isoTime() });
      return;
    } catch (err) {
      if (Date.now() + pause > deadline) {
        log(`registry update failed, giving up: ${errorMessage(err)}`);
        return;
      }
      log(`registry update failed, retrying in ${pause} ms: ${errorMessage(err)}`);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
